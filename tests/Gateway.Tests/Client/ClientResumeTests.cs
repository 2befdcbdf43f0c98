using System.Collections.Concurrent;
using System.Text;
using Gateway.Backplane;
using Gateway.Client;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Client;

/// <summary>
/// The .NET client and resumable sessions: a TCP connection reset mid-burst (through a relay, so no close frame goes
/// either way) is resumed with the same id and every frame once; a resume the gateway refuses falls back to recovery
/// by offset. Client and gateway share the fake clock, so the client comes back exactly when the test says.
/// </summary>
public sealed class ClientResumeTests
{
    private const int Total = 400;

    private static Dictionary<string, string?> Settings(string window) => new()
    {
        ["Gateway:Connections:ResumeWindow"] = window,
        ["Gateway:Topics:History:0:Pattern"] = "events.>",
    };

    private static GatewayClientOptions Options(GatewayHost host, TcpRelay relay, TimeSpan firstRetry) => new()
    {
        Url = new Uri($"ws://127.0.0.1:{relay.Port}/"),
        TimeProvider = host.Time,
        Jitter = () => 0,
        FirstRetryDelay = firstRetry,
    };

    [Fact]
    public async Task A_connection_reset_mid_burst_resumes_with_the_same_id_and_every_frame_once_in_order()
    {
        await using var host = await GatewayHost.StartAsync(Settings("00:00:30"));
        await using var relay = new TcpRelay(host.ClientEndPoint);
        await using var client = new GatewayClient(Options(host, relay, TimeSpan.FromSeconds(1)));
        var resumed = new TaskCompletionSource<ResumedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var dropped = new TaskCompletionSource<DisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var recoveries = new ConcurrentQueue<RecoveredEventArgs>();
        var pushes = new ConcurrentQueue<string>();
        client.Resumed += (_, e) => resumed.TrySetResult(e);
        client.Disconnected += (_, e) => dropped.TrySetResult(e);
        client.Recovered += (_, e) => recoveries.Enqueue(e);
        client.MessageReceived += (_, e) => pushes.Enqueue(e.Text!);
        await client.ConnectAsync().WithTimeout();
        var id = client.ConnectionId!;
        var firstToken = client.ResumeToken;
        Assert.NotNull(firstToken);

        // A topic without history: what the client misses there only a resume can bring back.
        await using var subscription = await client.SubscribeAsync("live.t").WithTimeout();
        var events = new List<int>();
        var reader = Task.Run(async () =>
        {
            await foreach (var e in subscription)
            {
                events.Add(e.Data.GetInt32());
                if (events.Count == Total / 2)
                {
                    return;
                }
            }
        });

        // Pushes and topic events alternately; the connection is reset an eighth of the way in, and the rest of the
        // burst goes on while the client is away (it comes back when the test moves the clock).
        var publisher = host.Services.GetRequiredService<IGatewayPublisher>();
        for (var n = 1; n <= Total; n++)
        {
            if (n == Total / 8)
            {
                // At once, with frames still in flight: the client tells the gateway how many it received.
                relay.Cut();
                await dropped.Task.WithTimeout();
            }

            if (n % 2 == 0)
            {
                Assert.Equal(SendResult.Sent, await host.Sender.SendAsync(id, OutboundMessage.Text(Encoding.UTF8.GetBytes($"p{n}"))));
            }
            else
            {
                await publisher.PublishAsync("live.t", "tick", Encoding.UTF8.GetBytes($"{n}"));
            }
        }

        await Wait.UntilAsync(() => host.Connection(id).IsWaiting, "the session waits for its client");
        var resume = await host.AdvanceUntilAsync(resumed.Task, TimeSpan.FromSeconds(1));
        await reader.WithTimeout();
        await Wait.UntilAsync(() => pushes.Count == Total / 2, "every push arrived");

        Assert.Equal(id, resume.ConnectionId);
        Assert.Equal(id, client.ConnectionId);
        Assert.True(resume.Missed > Total / 2, $"missed {resume.Missed}");
        Assert.NotEqual(firstToken, client.ResumeToken);
        Assert.Equal(Enumerable.Range(1, Total / 2).Select(i => $"p{2 * i}"), pushes);
        Assert.Equal(Enumerable.Range(0, Total / 2).Select(i => (2 * i) + 1), events);
        Assert.Empty(recoveries);
        Assert.Equal(2, relay.Accepted);
        Assert.Equal(1, host.Registry.Count);

        // Live on the same connection: no subscribe was sent again, and the next event comes once.
        await publisher.PublishAsync("live.t", "tick", Encoding.UTF8.GetBytes("1000"));
        var next = subscription.GetAsyncEnumerator();
        Assert.True(await next.MoveNextAsync().AsTask().WithTimeout());
        Assert.Equal(1000, next.Current.Data.GetInt32());
        await client.PingAsync().WithTimeout();
        Assert.Empty(recoveries);
    }

    [Fact]
    public async Task A_refused_resume_connects_anew_and_recovers_by_offset()
    {
        await using var host = await GatewayHost.StartAsync(Settings("00:00:05"));
        await using var relay = new TcpRelay(host.ClientEndPoint);
        await using var client = new GatewayClient(Options(host, relay, TimeSpan.FromSeconds(10)));
        var dropped = new TaskCompletionSource<DisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var recovered = new TaskCompletionSource<RecoveredEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new ConcurrentQueue<Exception>();
        var resumes = 0;
        client.Disconnected += (_, e) => dropped.TrySetResult(e);
        client.Recovered += (_, e) => recovered.TrySetResult(e);
        client.Error += (_, e) => errors.Enqueue(e.Exception);
        client.Resumed += (_, _) => Interlocked.Increment(ref resumes);
        await client.ConnectAsync().WithTimeout();
        var id = client.ConnectionId!;
        await using var subscription = await client.SubscribeAsync("events.r").WithTimeout();
        var publisher = host.Services.GetRequiredService<IGatewayPublisher>();
        var events = subscription.GetAsyncEnumerator();
        for (var n = 1; n <= 3; n++)
        {
            await publisher.PublishAsync("events.r", "tick", Encoding.UTF8.GetBytes($"{n}"));
            Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
        }

        relay.Cut();
        await dropped.Task.WithTimeout();
        for (var n = 4; n <= 6; n++)
        {
            await publisher.PublishAsync("events.r", "tick", Encoding.UTF8.GetBytes($"{n}"));
        }

        // The window passes while the client waits to come back: the session ends, and its token resumes nothing.
        await Wait.UntilAsync(() => host.Registry.TryGet(id, out var c) && c.IsParked, "the session waits, parked");
        host.Advance(TimeSpan.FromSeconds(6));
        await Wait.UntilAsync(() => !host.Registry.TryGet(id, out _), "the session ended");
        var recovery = await host.AdvanceUntilAsync(recovered.Task, TimeSpan.FromSeconds(4));
        Assert.Equal(("events.r", true, 3L), (recovery.Channel, recovery.Recovered, recovery.Since!.Offset));
        var refusal = Assert.IsType<GatewayCommandException>(Assert.Single(errors));
        Assert.Equal("resume_failed", refusal.Code);
        Assert.Equal(0, resumes);
        Assert.NotEqual(id, client.ConnectionId);
        Assert.NotNull(client.ResumeToken);

        await publisher.PublishAsync("events.r", "tick", Encoding.UTF8.GetBytes("7"));
        for (var n = 4; n <= 7; n++)
        {
            Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
            Assert.Equal((n, (long?)n), (events.Current.Data.GetInt32(), events.Current.Offset));
        }
    }

    [Fact]
    public async Task Reconnect_closes_with_4000_and_the_next_connection_resumes_the_session()
    {
        await using var host = await GatewayHost.StartAsync(Settings("00:00:30"));
        await using var relay = new TcpRelay(host.ClientEndPoint);
        await using var client = new GatewayClient(Options(host, relay, TimeSpan.FromSeconds(1)));
        var dropped = new TaskCompletionSource<DisconnectedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var resumed = new TaskCompletionSource<ResumedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Disconnected += (_, e) => dropped.TrySetResult(e);
        client.Resumed += (_, e) => resumed.TrySetResult(e);
        await client.ConnectAsync().WithTimeout();
        var id = client.ConnectionId!;
        await using var subscription = await client.SubscribeAsync("live.x").WithTimeout();
        var events = subscription.GetAsyncEnumerator();

        await client.ReconnectAsync().WithTimeout();
        Assert.Equal(4000, (await dropped.Task.WithTimeout()).CloseStatus);
        var publisher = host.Services.GetRequiredService<IGatewayPublisher>();
        await publisher.PublishAsync("live.x", "tick", Encoding.UTF8.GetBytes("1"));
        await Wait.UntilAsync(() => host.Connection(id).IsWaiting, "the session waits for its client");

        var resume = await host.AdvanceUntilAsync(resumed.Task, TimeSpan.FromSeconds(1));
        Assert.Equal((id, 1), (resume.ConnectionId, resume.Missed));
        Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
        Assert.Equal(1, events.Current.Data.GetInt32());
        await publisher.PublishAsync("live.x", "tick", Encoding.UTF8.GetBytes("2"));
        Assert.True(await events.MoveNextAsync().AsTask().WithTimeout());
        Assert.Equal(2, events.Current.Data.GetInt32());
        Assert.Equal(id, client.ConnectionId);
    }

    [Fact]
    public async Task The_refresh_answers_resume_token_is_the_one_the_next_resume_presents()
    {
        // The connection starts anonymous and authenticates with refresh: the refreshed answer's token names the user
        // now, and only that one resumes a handshake that authenticates as her.
        var settings = Settings("00:00:30");
        settings["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer;
        settings["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience;
        settings["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret;
        settings["Gateway:Auth:Jwt:Required"] = "false";
        await using var host = await GatewayHost.StartAsync(settings);
        await using var relay = new TcpRelay(host.ClientEndPoint);
        var options = Options(host, relay, TimeSpan.FromSeconds(1));
        var calls = 0;
        options.TokenProvider = _ => ValueTask.FromResult(Interlocked.Increment(ref calls) == 1 ? null : TestTokens.Mint(host.Time.GetUtcNow(), subject: "ann"));
        await using var client = new GatewayClient(options);
        var resumed = new TaskCompletionSource<ResumedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new ConcurrentQueue<Exception>();
        client.Resumed += (_, e) => resumed.TrySetResult(e);
        client.Error += (_, e) => errors.Enqueue(e.Exception);
        await client.ConnectAsync().WithTimeout();
        var id = client.ConnectionId!;
        var anonymous = client.ResumeToken;

        var answer = await client.RefreshAsync().WithTimeout();
        var fresh = answer.GetProperty("resumeToken").GetString();
        Assert.NotEqual(anonymous, fresh);
        Assert.Equal(fresh, client.ResumeToken);

        relay.Cut();
        await Wait.UntilAsync(() => host.Connection(id).IsWaiting, "the session waits for its client");
        Assert.Equal(id, (await host.AdvanceUntilAsync(resumed.Task, TimeSpan.FromSeconds(1))).ConnectionId);
        Assert.Empty(errors);
        Assert.Equal("ann", host.Connection(id).UserId);
    }
}
