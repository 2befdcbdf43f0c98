using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Gateway.Client;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Client;

/// <summary>
/// The .NET client through the failures it is for, with real processes: its gateway node restarted on the same port,
/// and its node killed behind haproxy, each in the middle of a burst of topic events. Every event arrives once and in
/// order, the missed ones recovered by offset from the history the nodes share on Redis.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class ClientFailoverTests
{
    private const int Burst = 300;

    private static Dictionary<string, string> NodeSettings(RedisServer redis, int? clientPort = null, int? managementPort = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Gateway__Redis__Configuration"] = redis.Configuration,
            ["Gateway__Redis__HeartbeatInterval"] = "00:00:01",
            ["Gateway__Redis__NodeTtl"] = "00:00:03",
            ["Gateway__Topics__History__0__Pattern"] = "burst.>",
            ["Gateway__Topics__History__0__Size"] = "500",
            ["Gateway__Topics__History__0__Ttl"] = "00:10:00",

            // Resumable sessions, with one key for every node: a session does not outlive its node, so the client's
            // resume is refused and it recovers by offset.
            ["Gateway__Connections__ResumeWindow"] = "00:00:30",
            ["Gateway__Connections__ResumeSigningKeys__0"] = "failover-resume-signing-key-0123456789abcdef",
        };
        if (clientPort is { } c)
        {
            settings["Gateway__Listeners__Client"] = $"http://127.0.0.1:{c}";
            settings["Gateway__Listeners__Management"] = $"http://127.0.0.1:{managementPort}";
        }

        return settings;
    }

    private static GatewayClientOptions ClientOptions(Uri url) => new()
    {
        Url = url,
        FirstRetryDelay = TimeSpan.Zero,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
    };

    [Fact]
    public async Task A_node_restarted_on_its_port_mid_burst_loses_and_repeats_nothing()
    {
        await using var redis = await RedisServer.StartAsync();
        var clientPort = NodeProcess.FreePort();
        var managementPort = NodeProcess.FreePort();
        var restarted = ServerProcess.Start(NodeSettings(redis, clientPort, managementPort));
        await using var publisherNode = ServerProcess.Start(NodeSettings(redis));
        try
        {
            var (clientUrl, _) = await restarted.WaitForListenersAsync();
            var (_, publisherManagement) = await publisherNode.WaitForListenersAsync();
            await using var client = new GatewayClient(ClientOptions(clientUrl));
            var recoveries = new ConcurrentQueue<RecoveredEventArgs>();
            var refusals = new ConcurrentQueue<string>();
            client.Recovered += (_, e) => recoveries.Enqueue(e);
            client.Error += (_, e) => refusals.Enqueue((e.Exception as GatewayCommandException)?.Code ?? "");
            await client.ConnectAsync().WithTimeout();
            var firstId = client.ConnectionId;
            Assert.NotNull(client.ResumeToken);

            var received = await BurstAsync(client, publisherManagement, "burst.restart", async () =>
            {
                // SIGTERM (the node drains and closes its clients with 1001), then the same executable on the same ports.
                await restarted.StopAsync();
                await restarted.DisposeAsync();
                restarted = ServerProcess.Start(NodeSettings(redis, clientPort, managementPort));
                await restarted.WaitForListenersAsync();
            });

            AssertExactlyOnceInOrder(received);
            var recovery = Assert.Single(recoveries);
            Assert.True(recovery.Recovered);
            Assert.NotEqual(firstId, client.ConnectionId);
            Assert.Contains("resume_failed", refusals);
        }
        finally
        {
            await restarted.DisposeAsync();
        }
    }

    [Fact]
    public async Task Behind_haproxy_a_dropped_connection_resumes_on_either_node_and_after_its_node_is_killed_the_client_recovers_on_the_other()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var first = ServerProcess.Start(NodeSettings(redis));
        await using var second = ServerProcess.Start(NodeSettings(redis));
        var nodes = new[] { await first.WaitForListenersAsync(), await second.WaitForListenersAsync() };
        await using var haproxy = await HaproxyProcess.StartAsync(nodes);

        // The client reaches haproxy through a relay that can drop its TCP connection as a network does.
        await using var relay = new TcpRelay(new IPEndPoint(IPAddress.Loopback, haproxy.ClientPort));
        var options = ClientOptions(new Uri($"ws://127.0.0.1:{relay.Port}/"));
        options.FirstRetryDelay = TimeSpan.FromMilliseconds(100);
        await using var client = new GatewayClient(options);
        var recoveries = new ConcurrentQueue<RecoveredEventArgs>();
        var refusals = new ConcurrentQueue<string>();
        var resumes = new ConcurrentQueue<ResumedEventArgs>();
        client.Recovered += (_, e) => recoveries.Enqueue(e);
        client.Resumed += (_, e) => resumes.Enqueue(e);
        client.Error += (_, e) => refusals.Enqueue((e.Exception as GatewayCommandException)?.Code ?? "");
        await client.ConnectAsync().WithTimeout();
        var id = client.ConnectionId!;
        using var http = new HttpClient();
        var before = await HolderAsync(http, nodes, id);

        // The TCP connection drops mid-burst: the session resumes (on whichever node haproxy picks) with the same id.
        var received = await BurstAsync(client, nodes[0].Management, "burst.drop", () =>
        {
            relay.Cut();
            return Task.CompletedTask;
        });
        AssertExactlyOnceInOrder(received);
        Assert.Equal(id, Assert.Single(resumes).ConnectionId);
        Assert.Equal(id, client.ConnectionId);
        Assert.Empty(recoveries);
        Assert.Empty(refusals);

        // Round robin took the new socket to the other node, which took the session over from the first.
        var holder = await HolderAsync(http, nodes, id);
        Assert.Equal(1 - before, holder);

        // Its node is killed mid-burst: the session died with it, the resume is refused, and the client lands on the
        // other node and recovers by offset.
        var survivor = nodes[1 - holder].Management;
        received = await BurstAsync(client, survivor, "burst.kill", () => (holder == 0 ? first : second).KillAsync());
        AssertExactlyOnceInOrder(received);
        Assert.True(Assert.Single(recoveries).Recovered);
        Assert.NotEqual(id, client.ConnectionId);
        Assert.Contains("resume_failed", refusals);
        Assert.Single(resumes);
    }

    /// <summary>Which node holds a connection: each lists only its own with <c>scope=node</c>.</summary>
    private static async Task<int> HolderAsync(HttpClient http, (Uri Client, Uri Management)[] nodes, string id)
    {
        var holders = new List<int>();
        for (var i = 0; i < nodes.Length; i++)
        {
            if ((await http.GetStringAsync(new Uri(nodes[i].Management, "@connections?scope=node"))).Contains(id, StringComparison.Ordinal))
            {
                holders.Add(i);
            }
        }

        return Assert.Single(holders);
    }

    /// <summary>
    /// Subscribes, publishes <see cref="Burst"/> numbered events one after another through <paramref name="management"/>,
    /// runs <paramref name="failure"/> once a third of them has arrived, and returns every event received until the last.
    /// </summary>
    private static async Task<List<TopicEvent>> BurstAsync(GatewayClient client, Uri management, string topic, Func<Task> failure)
    {
        await using var subscription = await client.SubscribeAsync(topic).WithTimeout();
        var received = new List<TopicEvent>();
        var third = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await foreach (var e in subscription)
            {
                received.Add(e);
                if (received.Count == Burst / 3)
                {
                    third.TrySetResult();
                }

                if (e.Data.GetInt32() == Burst - 1)
                {
                    return;
                }
            }
        });

        // The failure falls mid-burst: events are published while the client is away, and after it is back.
        var published = 0;
        int? publishedWhenDown = null, publishedWhenBack = null;
        client.Disconnected += (_, _) => publishedWhenDown ??= Volatile.Read(ref published);
        client.Connected += (_, _) => publishedWhenBack ??= Volatile.Read(ref published);
        using var http = new HttpClient();
        var publisher = Task.Run(async () =>
        {
            for (var n = 0; n < Burst; n++, Interlocked.Increment(ref published))
            {
                using var body = new StringContent(string.Create(CultureInfo.InvariantCulture, $$"""{"type":"n","data":{{n}}}"""), System.Text.Encoding.UTF8, "application/json");
                (await http.PostAsync(new Uri(management, $"@topics/{topic}"), body)).EnsureSuccessStatusCode();
                await Task.Delay(5);
            }
        });

        await third.Task.WithTimeout(TimeSpan.FromSeconds(20));
        await failure();
        await publisher.WithTimeout(TimeSpan.FromSeconds(30));
        await reader.WithTimeout(TimeSpan.FromSeconds(30));
        Assert.True(publishedWhenDown < publishedWhenBack && publishedWhenBack < Burst, $"published {publishedWhenDown} when the client dropped, {publishedWhenBack} when it was back");
        return received;
    }

    private static void AssertExactlyOnceInOrder(List<TopicEvent> received)
    {
        Assert.Equal(Enumerable.Range(0, Burst), received.Select(e => e.Data.GetInt32()));
        var offsets = received.Select(e => e.Offset!.Value).ToList();
        Assert.True(offsets.Zip(offsets.Skip(1)).All(p => p.First < p.Second), "offsets increase: " + JsonSerializer.Serialize(offsets));
    }
}
