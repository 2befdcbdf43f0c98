using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Gateway.Client;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Client;

/// <summary>
/// The .NET real-time client against the real gateway on loopback, client and gateway on one fake clock (backoff,
/// token expiry and refresh happen when the test moves it): subscriptions and their events, command correlation,
/// the queue while disconnected and recovery by offset, token renewal, streamed answers.
/// </summary>
public class GatewayClientTests
{
    private static readonly Dictionary<string, string?> TopicSettings = new()
    {
        ["Gateway:Topics:History:0:Pattern"] = "events.>",
        ["Gateway:Topics:History:0:Size"] = "100",
        ["Gateway:Topics:History:0:Ttl"] = "00:10:00",
        ["Gateway:Routes:$default:Handler"] = "echo",
    };

    private static GatewayClientOptions Options(GatewayHost host, string path = "/") => new()
    {
        Url = host.ClientUri(path),
        TimeProvider = host.Time,
        Jitter = () => 0,
        FirstRetryDelay = TimeSpan.FromSeconds(1),
    };

    private static async Task PublishAsync(HttpClient management, string topic, int n)
    {
        var response = await management.PostAsync(new Uri($"/@topics/{topic}", UriKind.Relative), new StringContent($$"""{"type":"tick","data":{{n}}}""", System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Subscribes_correlates_commands_queues_while_disconnected_and_recovers_by_offset()
    {
        await using var host = await GatewayHost.StartAsync(TopicSettings);
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        var options = Options(host);
        options.OutgoingQueueLimit = 3;
        await using var client = new GatewayClient(options);
        var connected = new ConcurrentQueue<ConnectedEventArgs>();
        var disconnected = new TaskCompletionSource<DisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var recovered = new TaskCompletionSource<RecoveredEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var messages = Channel.CreateUnbounded<string>();
        client.Connected += (_, e) => connected.Enqueue(e);
        client.Disconnected += (_, e) => disconnected.TrySetResult(e);
        client.Recovered += (_, e) => recovered.TrySetResult(e);
        client.MessageReceived += (_, e) => messages.Writer.TryWrite(e.Text!);

        await client.ConnectAsync().WithTimeout();
        var firstId = client.ConnectionId;
        Assert.NotNull(firstId);
        await using var subscription = await client.SubscribeAsync("events.room1").WithTimeout();
        Assert.NotNull(subscription.Epoch);
        var events = subscription.GetAsyncEnumerator();
        for (var i = 0; i < 3; i++)
        {
            await PublishAsync(management, "events.room1", i);
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
            Assert.Equal((i, (long?)(i + 1), "tick"), (events.Current.Data.GetInt32(), events.Current.Offset, events.Current.Type));
        }

        // Commands answered out of the order they were sent in still find their callers: the echo route answers with
        // the whole frame, id included, and the built-in commands echo the id.
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(n => client.RequestAsync("echo", new { n })).Concat([client.RequestAsync("ping")])).WithTimeout();
        Assert.Equal(Enumerable.Range(0, 20), answers.Take(20).Select(a => a.GetProperty("n").GetInt32()));
        Assert.Equal("pong", answers[20].GetProperty("type").GetString());
        var refused = await Assert.ThrowsAsync<GatewayCommandException>(() => client.SubscribeAsync("bad channel!").WithTimeout());
        Assert.Equal("invalid_request", refused.Code);

        // The gateway drops the connection; while the client waits to reconnect (one second on the shared fake clock),
        // sends queue up to the limit, and events are published that it misses.
        (await management.DeleteAsync(new Uri($"/@connections/{firstId}", UriKind.Relative))).EnsureSuccessStatusCode();
        var drop = await disconnected.Task.WithTimeout();
        Assert.Equal((1000, true), (drop.CloseStatus, drop.WillReconnect));
        Assert.False(client.IsConnected);
        for (var q = 1; q <= 3; q++)
        {
            await client.SendAsync("echo", new { q });
        }

        await Assert.ThrowsAsync<OutgoingQueueFullException>(() => client.SendAsync("echo", new { q = 4 }).AsTask());
        await PublishAsync(management, "events.room1", 3);
        await PublishAsync(management, "events.room1", 4);

        var recovery = await host.AdvanceUntilAsync(recovered.Task, TimeSpan.FromSeconds(1));
        Assert.Equal(("events.room1", true, 3L), (recovery.Channel, recovery.Recovered, recovery.Since!.Offset));
        Assert.NotEqual(firstId, client.ConnectionId);
        Assert.Equal([false, false], connected.Select(c => c.Resumed));
        await PublishAsync(management, "events.room1", 5);
        for (var i = 3; i < 6; i++)
        {
            Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
            Assert.Equal((i, (long?)(i + 1)), (events.Current.Data.GetInt32(), events.Current.Offset));
        }

        // The queued sends went out after the resubscription, in order.
        for (var q = 1; q <= 3; q++)
        {
            Assert.Equal(q, JsonDocument.Parse(await messages.Reader.ReadAsync().AsTask().WithTimeout()).RootElement.GetProperty("q").GetInt32());
        }

        // Nothing came twice: the next thing on the subscription is the next live event.
        await PublishAsync(management, "events.room1", 6);
        Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
        Assert.Equal(6, events.Current.Data.GetInt32());
        await subscription.UnsubscribeAsync().WithTimeout();
        Assert.False(await events.MoveNextAsync().AsTask().WithTimeout());
    }

    [Fact]
    public async Task Commands_named_in_type_subscribe_and_publish()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:RouteSelectionExpression"] = "$request.body.type",
            ["Gateway:Topics:ClientPublish:0:Pattern"] = "chat.>",
            ["Gateway:Topics:History:0:Pattern"] = "chat.>",
        });
        var options = Options(host);
        options.CommandNaming = CommandNaming.Type;
        await using var client = new GatewayClient(options);
        await client.ConnectAsync().WithTimeout();
        await using var subscription = await client.SubscribeAsync("chat.*").WithTimeout();
        var published = await client.PublishAsync("chat.room1", "message", new { text = "hi" }).WithTimeout();
        Assert.Equal(("published", 1), (published.GetProperty("type").GetString(), published.GetProperty("offset").GetInt32()));
        var events = subscription.GetAsyncEnumerator();
        Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
        Assert.Equal(("chat.room1", "message", "hi"), (events.Current.Channel, events.Current.Type, events.Current.Data.GetProperty("text").GetString()));
        Assert.Contains("\"from\":", events.Current.Frame, StringComparison.Ordinal);
        Assert.True((await client.PingAsync().WithTimeout()) >= TimeSpan.Zero);
    }

    [Fact]
    public async Task The_token_callback_replaces_an_expired_token_on_connect_and_refreshes_before_expiry()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:CloseOnExpiry"] = "true",
        });
        var start = host.Time.GetUtcNow();
        var calls = 0;
        var options = Options(host);
        options.TokenProvider = _ => ValueTask.FromResult<string?>(Interlocked.Increment(ref calls) == 1
            ? TestTokens.Mint(start - TimeSpan.FromMinutes(10))
            : TestTokens.Mint(host.Time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(2)));
        options.RefreshBeforeExpiry = TimeSpan.FromSeconds(30);
        await using var client = new GatewayClient(options);
        var errors = new ConcurrentQueue<Exception>();
        var disconnects = 0;
        client.Error += (_, e) => errors.Enqueue(e.Exception);
        client.Disconnected += (_, _) => Interlocked.Increment(ref disconnects);

        // The first token is refused before the upgrade; the next attempt asks the callback again.
        await client.ConnectAsync().WithTimeout();
        Assert.Equal(2, calls);
        Assert.IsType<WebSocketException>(Assert.Single(errors));

        // A connection on the same kind of token, without refresh, is the control: it is closed when its token expires.
        await using var control = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), lifetime: TimeSpan.FromMinutes(2))}");

        // 30 s before expiry the client fetches a new token and sends it in-band; the gateway takes it.
        var connection = host.Connection(client.ConnectionId!);
        var firstExpiry = connection.User.FindFirst("exp")?.Value;
        Assert.NotNull(firstExpiry);
        host.Advance(TimeSpan.FromSeconds(95));
        await Wait.UntilAsync(() => connection.User.FindFirst("exp")?.Value != firstExpiry, "the gateway took the fresh token");
        Assert.Equal(3, calls);
        await client.PingAsync().WithTimeout(); // its pong follows the refresh's answer: the client has that answer too

        host.Advance(TimeSpan.FromSeconds(60)); // past the first token's expiry and the clock skew
        Assert.Equal(1008, (await control.Closed.WithTimeout()).CloseStatus);
        await client.PingAsync().WithTimeout();
        Assert.True(client.IsConnected);
        Assert.Equal(0, disconnects);
        Assert.Single(errors);
    }

    [Fact]
    public async Task Streamed_answers_arrive_chunk_by_chunk_and_a_broken_stream_throws()
    {
        var gate = new TaskCompletionSource();
        var breakOff = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (request, context) =>
        {
            if (request.Path == "/plain")
            {
                await context.Response.WriteAsJsonAsync(new { text = "whole answer" });
                return;
            }

            context.Response.ContentType = "application/x-ndjson";
            await context.Response.WriteAsync("{\"chunk\":\"Hel\"}\n");
            await context.Response.Body.FlushAsync();
            if (request.Path == "/broken")
            {
                // Broken off once the first chunk is at the client, so that the stream, not the call, fails.
                await breakOff.Task;
                context.Abort();
                return;
            }

            await gate.Task;
            await context.Response.WriteAsync("{\"chunk\":\"lo\"}\n{\"token_usage\":{\"output\":2}}\n");
        };
        var settings = new Dictionary<string, string?>();
        foreach (var route in new[] { "stream", "plain", "broken" })
        {
            settings[$"Gateway:Routes:{route}:Integration:Type"] = "http";
            settings[$"Gateway:Routes:{route}:Integration:Uri"] = backend.Url("/" + route).ToString();
            settings[$"Gateway:Routes:{route}:Integration:ReturnResponse"] = "true";
            settings[$"Gateway:Routes:{route}:Integration:Envelope"] = "Connector";
        }

        await using var host = await GatewayHost.StartAsync(settings);
        await using var client = new GatewayClient(Options(host));
        await client.ConnectAsync().WithTimeout();

        var chunks = new List<string>();
        await foreach (var chunk in client.StreamAsync("stream", new { text = "hi" }).WithCancellation(CancellationToken.None))
        {
            chunks.Add(chunk);

            // The first chunk is here while the backend still holds the rest.
            gate.TrySetResult();
        }

        Assert.Equal(["Hel", "lo"], chunks);
        Assert.Equal(["whole answer"], await client.StreamAsync("plain").ToListAsync().AsTask().WithTimeout());
        var broken = new List<string>();
        var failure = await Assert.ThrowsAsync<GatewayCommandException>(async () =>
        {
            await foreach (var chunk in client.StreamAsync("broken"))
            {
                broken.Add(chunk);
                breakOff.TrySetResult();
            }
        }).WithTimeout();
        Assert.Equal(("internal_error", "Hel"), (failure.Code, Assert.Single(broken)));
    }

    [Fact]
    public async Task History_and_presence_are_answered_by_id()
    {
        var settings = new Dictionary<string, string?>(TopicSettings) { ["Gateway:Topics:Presence:0:Pattern"] = "room.*" };
        await using var host = await GatewayHost.StartAsync(settings);
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        await using var client = new GatewayClient(Options(host));
        await client.ConnectAsync().WithTimeout();
        for (var i = 0; i < 3; i++)
        {
            await PublishAsync(management, "events.h", i);
        }

        var all = await client.HistoryAsync("events.h").WithTimeout();
        var epoch = all.GetProperty("epoch").GetString()!;
        Assert.Equal([0, 1, 2], all.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetInt32()));
        var after = await client.HistoryAsync("events.h", new StreamPosition(1, epoch), limit: 1).WithTimeout();
        Assert.Equal(1, Assert.Single(after.GetProperty("events").EnumerateArray()).GetProperty("data").GetInt32()); // offset 2, the first after 1
        Assert.Equal("not_found", (await Assert.ThrowsAsync<GatewayCommandException>(() => client.HistoryAsync("nohistory.h").WithTimeout())).Code);

        await using var room = await client.SubscribeAsync("room.1").WithTimeout();
        var presence = await client.PresenceAsync("room.1").WithTimeout();
        Assert.Equal(client.ConnectionId, Assert.Single(presence.GetProperty("members").EnumerateArray()).GetProperty("connectionId").GetString());
    }

    [Fact]
    public async Task Reconnects_back_off_exponentially_with_full_jitter_up_to_the_ceiling()
    {
        // Nothing listens on the port: every attempt is refused, and each wait is a timer on the client's clock.
        var clock = new RecordingClock();
        var draws = 0;
        await using var client = new GatewayClient(new GatewayClientOptions
        {
            Url = new Uri($"ws://127.0.0.1:{NodeProcess.FreePort()}/"),
            TimeProvider = clock,
            ReconnectBaseDelay = TimeSpan.FromSeconds(1),
            ReconnectFactor = 2,
            ReconnectMaxDelay = TimeSpan.FromSeconds(5),
            Jitter = () => ++draws % 2 == 1 ? 0.5 : 0.25,
        });
        var refused = 0;
        client.Error += (_, _) => Interlocked.Increment(ref refused);
        using var giveUp = new CancellationTokenSource();
        var connecting = client.ConnectAsync(giveUp.Token);
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            await Wait.UntilAsync(() => clock.Timers.Count == attempt, $"wait {attempt} was asked for");
            Assert.Equal(attempt, Volatile.Read(ref refused));
            clock.Advance(clock.Timers.Last());
        }

        // A random share of min(max, base × factor^n): 2 s × 0.5, 4 s × 0.25, 5 s × 0.5 (8 s capped), 5 s × 0.25, 5 s × 0.5.
        Assert.Equal([1000, 1000, 2500, 1250, 2500], clock.Timers.Take(5).Select(t => t.TotalMilliseconds));
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connecting);
    }

    /// <summary>A fake clock that records the due time of every timer asked of it.</summary>
    private sealed class RecordingClock : TimeProvider
    {
        private readonly FakeTimeProvider _time = new();

        public ConcurrentQueue<TimeSpan> Timers { get; } = new();

        public override DateTimeOffset GetUtcNow() => _time.GetUtcNow();

        public override long GetTimestamp() => _time.GetTimestamp();

        public override long TimestampFrequency => _time.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Timers.Enqueue(dueTime);
            return _time.CreateTimer(callback, state, dueTime, period);
        }

        public void Advance(TimeSpan by) => _time.Advance(by);
    }
}
