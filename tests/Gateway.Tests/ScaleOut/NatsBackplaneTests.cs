using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Nats;
using Gateway.Tests.Backplane;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// Gateway nodes on a three-server NATS cluster (clustered JetStream, three replicas of every stream and bucket) through
/// its failures: one server killed, the whole cluster down, a node killed. The nodes' timings are short (heartbeat
/// 0.3 s, liveness 2 s, request timeout 1 s) so that each failure plays out in seconds.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsBackplaneTests(SharedNatsCluster nats) : IClassFixture<SharedNatsCluster>, IAsyncLifetime
{
    private static readonly TimeSpan NodeTtl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(1);

    /// <summary>What each test's subjects, buckets and streams start with, so that tests sharing the cluster never meet.</summary>
    private readonly string _prefix = "fail" + Guid.NewGuid().ToString("N")[..8];

    private NatsCluster Cluster => nats.Cluster;

    /// <summary>Removes the history streams of earlier tests: JetStream refuses a stream whose subjects overlap another's.</summary>
    public Task InitializeAsync() => NatsBackplaneSpecTests.DeleteHistoryStreamsAsync(Cluster.Urls);

    public Task DisposeAsync() => Task.CompletedTask;

    private Dictionary<string, string> Settings() => new()
    {
        ["Gateway:Nats:Url"] = Cluster.Urls,
        ["Gateway:Nats:SubjectPrefix"] = _prefix,
        ["Gateway:Nats:JetStream:Replicas"] = "3",
        ["Gateway:Nats:HeartbeatInterval"] = "00:00:00.3",
        ["Gateway:Nats:NodeTtl"] = NodeTtl.ToString("c", CultureInfo.InvariantCulture),
        ["Gateway:Nats:RequestTimeout"] = RequestTimeout.ToString("c", CultureInfo.InvariantCulture),
    };

    private async Task<GatewayHost> NodeAsync(params (string Key, string? Value)[] extra)
    {
        var settings = Settings().ToDictionary(s => s.Key, s => (string?)s.Value);
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var host = await GatewayHost.StartAsync(settings, realClock: true);
        await Wait.UntilAsync(() => Backplane(host).IsConnected, "the node announced itself on NATS", TimeSpan.FromSeconds(20));
        return host;
    }

    private static ClusterBackplane Backplane(GatewayHost host) => host.Services.GetRequiredService<ClusterBackplane>();

    private static string NodeId(GatewayHost host) => host.Services.GetRequiredService<GatewayNode>().Id;

    // A call that hangs fails the test rather than waiting for HttpClient's 100 s.
    private static HttpClient Management(GatewayHost host) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}"), Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<HttpStatusCode> PushAsync(HttpClient management, string connectionId, string text)
    {
        using var response = await management.PostAsync(new Uri($"/@connections/{connectionId}", UriKind.Relative), new StringContent(text));
        return response.StatusCode;
    }

    /// <summary>The server a node's NATS connection is on (its monitoring <c>/connz</c> names the connection), or null.</summary>
    private async Task<int?> ServerOfAsync(GatewayHost host)
    {
        for (var i = 0; i < Cluster.MonitorPorts.Count; i++)
        {
            if (await NatsProcess.MonitorAsync(Cluster.MonitorPorts[i], "/connz?limit=1024") is { } connz
                && connz.GetProperty("connections").EnumerateArray().Any(c => c.TryGetProperty("name", out var name) && name.GetString() == "gateway-" + NodeId(host)))
            {
                return i;
            }
        }

        return null;
    }

    /// <summary>Steps the leader of the history stream of <c>events.&gt;</c> down until <paramref name="server"/> leads it.</summary>
    private async Task LeadHistoryStreamOnAsync(int server)
    {
        await using var client = new NatsConnection(new NatsOpts { Url = Cluster.Urls });
        var js = new NatsJSContext(client);
        var stream = NatsHistoryStreams.StreamName(_prefix, "events.>");
        await Wait.UntilAsync(async () =>
        {
            try
            {
                if ((await js.GetStreamAsync(stream)).Info.Cluster?.Leader is not { } leader)
                {
                    return false;
                }

                if (leader == NatsCluster.ServerName(server))
                {
                    return true;
                }

                await client.RequestAsync<byte[], byte[]>($"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", []);
                return false;
            }
            catch (NatsException)
            {
                // No leader while one is elected.
                return false;
            }
        }, $"{NatsCluster.ServerName(server)} led the history stream", TimeSpan.FromSeconds(20));
    }

    /// <summary>Every text frame a client has received until the answer to a ping sent now.</summary>
    private static async Task<List<string>> DrainAsync(TestClient client)
    {
        await client.SendTextAsync("""{"action":"ping"}""");
        var frames = new List<string>();
        for (var text = await client.ReceiveTextAsync(); text != """{"type":"pong"}"""; text = await client.ReceiveTextAsync())
        {
            frames.Add(text);
        }

        return frames;
    }

    /// <summary>Makes call after call (each once the one before answered) until stopped, recording each one's number, status and time.</summary>
    private static async Task KeepCallingAsync(Func<int, Task<HttpStatusCode>> call, ConcurrentQueue<(int N, HttpStatusCode Status, TimeSpan At)> calls, Stopwatch clock, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var at = clock.Elapsed;
            calls.Enqueue((n, await call(n), at));
            await Task.Delay(10, CancellationToken.None);
        }
    }

    /// <summary>Asserts that <paramref name="expected"/> appear in <paramref name="received"/> in this order, each once, and that nothing was received twice.</summary>
    private static void AssertEachOnceInOrder(List<string> expected, List<string> received, string what)
    {
        Assert.True(received.Distinct().Count() == received.Count, $"{what}: something was received twice: {string.Join(", ", received)}");
        var last = -1;
        foreach (var e in expected)
        {
            var at = received.IndexOf(e);
            Assert.True(at >= 0, $"{what}: '{e}' was acknowledged but never received");
            Assert.True(at > last, $"{what}: received out of order: {string.Join(", ", received)}");
            last = at;
        }
    }

    [Fact]
    public async Task A_server_killed_with_SIGKILL_the_nodes_go_on_through_the_others_local_traffic_never_stops_and_nothing_acknowledged_is_lost()
    {
        var history = new[] { ("Gateway:Topics:History:0:Pattern", (string?)"events.>"), ("Gateway:Topics:History:0:Size", (string?)"900") };
        await using var a = await NodeAsync(history);
        await using var b = await NodeAsync(history);
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        await using var watcher = await b.ConnectAsync();
        await watcher.SendTextAsync("""{"action":"subscribe","channel":"events.room"}""");
        var epoch = (await TopicTests.NextJsonAsync(watcher)).GetProperty("epoch").GetString()!;
        using var viaA = Management(a);

        // The server killed is node A's (node B's too, or not), made the history stream's leader: the nodes move to
        // another server, and the stream gets a new leader.
        var killed = await ServerOfAsync(a) ?? throw new InvalidOperationException("node A is on no server");
        await LeadHistoryStreamOnAsync(killed);

        // Pushes from node A to its own client and to node B's, and publishes of a topic with history, one after another.
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var local = new ConcurrentQueue<(int N, HttpStatusCode Status, TimeSpan At)>();
        var cross = new ConcurrentQueue<(int N, HttpStatusCode Status, TimeSpan At)>();
        var published = new ConcurrentQueue<(int N, HttpStatusCode Status, TimeSpan At)>();
        var traffic = Task.WhenAll(
            KeepCallingAsync(n => PushAsync(viaA, onA.Id, $"local {n}"), local, clock, stop.Token),
            KeepCallingAsync(n => PushAsync(viaA, onB.Id, $"cross {n}"), cross, clock, stop.Token),
            KeepCallingAsync(async n => (await TopicTests.PostAsync(a, "/@topics/events.room", $$"""{"type":"tick","data":{{n}}}""")).Status, published, clock, stop.Token));
        TimeSpan killedAt;
        try
        {
            await Task.Delay(500);
            killedAt = clock.Elapsed;
            await Cluster.KillAsync(killed);
            await Wait.UntilAsync(
                async () => Backplane(a).IsConnected && Backplane(b).IsConnected
                    && await ServerOfAsync(a) is { } aOn && aOn != killed && await ServerOfAsync(b) is { } bOn && bOn != killed
                    && cross.Any(c => c.At > killedAt && c.Status == HttpStatusCode.OK) && published.Any(c => c.At > killedAt && c.Status == HttpStatusCode.OK),
                "both nodes had moved to the servers left and announced themselves again, and cross-node pushes and publishes were answered 200 again",
                TimeSpan.FromSeconds(20));
            await Task.Delay(300);
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
            await Cluster.StartAgainAsync(killed);
        }

        // Local traffic never stopped: every push answered 200 and arrived, in order.
        Assert.All(local, c => Assert.Equal(HttpStatusCode.OK, c.Status));
        Assert.Equal(local.Select(c => $"local {c.N}"), await DrainAsync(onA));

        // Cross-node pushes answered 503 for a moment at most, then 200 again; each one answered 200 arrived once, in order.
        Assert.All(cross, c => Assert.True(c.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"cross {c.N} answered {c.Status}"));
        var resumed = cross.First(c => c.At > killedAt && c.Status == HttpStatusCode.OK).At - killedAt;
        Assert.True(resumed < TimeSpan.FromSeconds(5), $"cross-node pushes answered 200 again {resumed} after the kill");
        AssertEachOnceInOrder([.. cross.Where(c => c.Status == HttpStatusCode.OK).Select(c => $"cross {c.N}")], await DrainAsync(onB), "cross-node pushes");

        // Each publish answered 200 is in the topic's history once, in order: seen live on node B, and recovered from
        // the start through node A.
        Assert.All(published, c => Assert.True(c.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"publish {c.N} answered {c.Status}"));
        var acknowledged = published.Where(c => c.Status == HttpStatusCode.OK).Select(c => c.N.ToString(CultureInfo.InvariantCulture)).ToList();
        var live = new List<JsonElement>();
        while (live.Count == 0 || live[^1].GetProperty("data").GetRawText() != acknowledged[^1])
        {
            live.Add(await TopicTests.NextJsonAsync(watcher));
        }

        live.AddRange((await DrainAsync(watcher)).Select(t => JsonDocument.Parse(t).RootElement));
        AssertEachOnceInOrder(acknowledged, [.. live.Select(e => e.GetProperty("data").GetRawText())], "history events seen live");
        Assert.Equal(live.Select(e => e.GetProperty("offset").GetInt64()).Order(), live.Select(e => e.GetProperty("offset").GetInt64()));

        await using var back = await a.ConnectAsync();
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"events.room","since":{"offset":0,"epoch":"{{{epoch}}}"}}""");
        Assert.True((await TopicTests.NextJsonAsync(back)).GetProperty("recovered").GetBoolean());
        var recovered = await DrainAsync(back);
        AssertEachOnceInOrder(acknowledged, [.. recovered.Select(t => JsonDocument.Parse(t).RootElement.GetProperty("data").GetRawText())], "history events recovered");
        Assert.Equal(live.Select(e => e.GetRawText()), recovered);
    }

    [Fact]
    public async Task With_the_whole_NATS_cluster_down_local_traffic_goes_on_cross_node_calls_answer_503_at_once_and_everything_resumes_when_it_is_back()
    {
        await using var a = await NodeAsync();
        await using var b = await NodeAsync();
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        using var viaA = Management(a);
        Assert.Equal(HttpStatusCode.OK, await PushAsync(viaA, onB.Id, "before"));
        Assert.Equal("before", await onB.ReceiveTextAsync());

        try
        {
            await Cluster.KillAllAsync();
            await Wait.UntilAsync(() => !Backplane(a).IsConnected, "node A noticed NATS is gone");
            using (var ready = await viaA.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Equal("Backplane unavailable", await ready.Content.ReadAsStringAsync());
            }

            using (var localReady = await viaA.GetAsync(new Uri("/readyz?scope=local", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, localReady.StatusCode);
                Assert.Equal("Ready (backplane unavailable)", await localReady.Content.ReadAsStringAsync());
            }

            Assert.Equal("Healthy", await viaA.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
            Assert.Contains("gateway_backplane_available{otel_scope_name=\"Gateway\",engine=\"nats\"} 0\n", await viaA.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);

            // Its own client: served as before.
            Assert.Equal(HttpStatusCode.OK, await PushAsync(viaA, onA.Id, "local"));
            Assert.Equal("local", await onA.ReceiveTextAsync());
            await onA.SendTextAsync("echo me");
            Assert.Equal("echo me", await onA.ReceiveTextAsync());

            // Another node's: 503, well within the request timeout (nothing waits on a NATS that is not there).
            var started = Stopwatch.StartNew();
            using (var crossNode = await viaA.PostAsync(new Uri($"/@connections/{onB.Id}", UriKind.Relative), new StringContent("x")))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, crossNode.StatusCode);
                Assert.Equal("ServiceUnavailableException", crossNode.Headers.GetValues("x-amzn-ErrorType").Single().Split(':')[0]);
            }

            Assert.True(started.Elapsed < RequestTimeout + TimeSpan.FromSeconds(2), $"answered after {started.Elapsed}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await viaA.PostAsync(new Uri("/@broadcast", UriKind.Relative), new StringContent("all"))).StatusCode);
            Assert.Equal("all", await onA.ReceiveTextAsync());
        }
        finally
        {
            await Cluster.StartAllAgainAsync();
        }

        foreach (var node in new[] { a, b })
        {
            await Wait.UntilAsync(() => Backplane(node).IsConnected, "the node reconnected and announced itself again", TimeSpan.FromSeconds(20));
        }

        Assert.Equal(HttpStatusCode.OK, (await viaA.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Contains("gateway_backplane_available{otel_scope_name=\"Gateway\",engine=\"nats\"} 1\n", await viaA.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await PushAsync(viaA, onB.Id, "back"));
        Assert.Equal("back", await onB.ReceiveTextAsync());

        // Subscriptions were restored once, not added again: a broadcast arrives once at each client.
        Assert.Equal(HttpStatusCode.OK, (await viaA.PostAsync(new Uri("/@broadcast", UriKind.Relative), new StringContent("once"))).StatusCode);
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal(["once"], await DrainAsync(client));
        }
    }

    [Fact]
    public async Task A_node_killed_with_SIGKILL_turns_its_connections_into_410_once_its_liveness_lapses()
    {
        await using var b = await NodeAsync();
        await using var killed = ServerProcess.Start(Settings().ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value));
        var (clientUri, _) = await killed.WaitForListenersAsync();
        await using var client = await TestClient.ConnectAsync(clientUri);
        using var viaB = Management(b);
        await Wait.UntilAsync(async () => await PushAsync(viaB, client.Id, "alive") == HttpStatusCode.OK, "the node announced itself on NATS", TimeSpan.FromSeconds(20));
        Assert.Equal("alive", await client.ReceiveTextAsync());

        await killed.KillAsync();
        var clock = Stopwatch.StartNew();

        // Nobody receives the push any more: 503 while the node might only be reconnecting, 410 once its liveness lapsed.
        var answers = new List<HttpStatusCode>();
        await Wait.UntilAsync(async () =>
        {
            answers.Add(await PushAsync(viaB, client.Id, "x"));
            return answers[^1] == HttpStatusCode.Gone;
        }, "a push to the dead node's connection answers 410", TimeSpan.FromSeconds(15));
        Assert.True(clock.Elapsed < NodeTtl + TimeSpan.FromSeconds(2), $"410 after {clock.Elapsed}");
        Assert.All(answers.Take(answers.Count - 1), s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
    }
}
