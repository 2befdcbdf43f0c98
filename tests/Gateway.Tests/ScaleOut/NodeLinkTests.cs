using System.Net;
using System.Text;
using System.Text.Json;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Tests.Client;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// Two gateway nodes on Redis and on NATS with the direct link on (<c>Gateway:Cluster:Link</c>): directed calls and
/// their answers go over the link, and through the engine whenever the link is refused, cut, or gone.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class NodeLinkTests
{
    private const string Secret = "the-cluster-link-secret";

    private static (string, string?)[] Link(string secret = Secret, string listen = "127.0.0.1:0", string? advertise = null) =>
    [
        ("Gateway:Cluster:Link:Listen", listen),
        ("Gateway:Cluster:Link:Advertise", advertise),
        ("Gateway:Cluster:Link:Secret", secret),
    ];

    [Theory]
    [InlineData("redis")]
    [InlineData("nats")]
    public async Task Push_describe_and_delete_across_nodes_go_over_the_link(string engine)
    {
        await using var store = await Store.StartAsync(engine);
        await using var a = await store.NodeAsync(Link());
        await using var b = await store.NodeAsync(Link());
        await using var client = await a.ConnectAsync();
        using var viaB = Management(b);
        await PushUntilLinkedAsync(viaB, client, a, b);

        var before = (await FramesAsync(a), await FramesAsync(b));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(Connection(client.Id), new StringContent($"push {i}"))).StatusCode);
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"push {i}", await client.ReceiveTextAsync()); // in order
        }

        // Every request went from B to A on the link, and every answer from A to B: none through the engine.
        var after = (await FramesAsync(a), await FramesAsync(b));
        Assert.Equal(20, after.Item2.Sent - before.Item2.Sent);
        Assert.Equal(20, after.Item1.Received - before.Item1.Received);
        Assert.Equal(20, after.Item1.Sent - before.Item1.Sent);
        Assert.Equal(20, after.Item2.Received - before.Item2.Received);

        var patch = new HttpRequestMessage(HttpMethod.Patch, Connection(client.Id)) { Content = new StringContent("""{"room":"lobby"}""", Encoding.UTF8, "application/json") };
        Assert.Equal(HttpStatusCode.NoContent, (await viaB.SendAsync(patch)).StatusCode);
        var info = JsonDocument.Parse(await viaB.GetStringAsync(Connection(client.Id))).RootElement;
        Assert.Equal("lobby", info.GetProperty("attributes").GetProperty("room").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await viaB.DeleteAsync(Connection(client.Id))).StatusCode);
        Assert.Equal(1000, (await client.Closed.WithTimeout()).CloseStatus);
        await Wait.UntilAsync(() => a.Registry.Count == 0, "the deleted connection left node A");

        // An id node A does not hold, while A lives: 410, answered by A over the link.
        Assert.Equal(HttpStatusCode.Gone, (await viaB.PostAsync(Connection(client.Id), new StringContent("x"))).StatusCode);
        Assert.Equal(4, (await FramesAsync(b)).Sent - after.Item2.Sent);

        // Node A leaves: the link closes, and its ids answer 410 through its liveness.
        await using var another = await a.ConnectAsync();
        await a.DisposeAsync();
        Assert.Equal(HttpStatusCode.Gone, (await viaB.PostAsync(Connection(another.Id), new StringContent("x"))).StatusCode);
    }

    [Fact]
    public async Task A_node_with_another_secret_is_refused_and_calls_go_through_the_engine()
    {
        await using var store = await Store.StartAsync("redis");
        var log = new RecordingLogger<NodeLink>();
        await using var a = await store.NodeAsync(Link(), g => g.Services.AddSingleton<ILogger<NodeLink>>(log));
        await using var b = await store.NodeAsync(Link(secret: "not-the-cluster-secret"));
        await using var client = await a.ConnectAsync();
        using var viaB = Management(b);

        // B learns A's address, tries the link, is refused; every call succeeds all the while.
        var pushes = 0;
        await Wait.UntilAsync(
            async () =>
            {
                Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(Connection(client.Id), new StringContent($"push {pushes}"))).StatusCode);
                Assert.Equal($"push {pushes++}", await client.ReceiveTextAsync());
                return log.Of(1613).Count > 0;
            },
            "node A refused B's link");

        var refusal = log.Of(1613)[0];
        Assert.Contains(NodeId(b), refusal, StringComparison.Ordinal);
        Assert.Contains("Gateway:Cluster:Link:Secret", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-cluster-secret", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(log.Events, e => e.Message.Contains(Secret, StringComparison.Ordinal));

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(Connection(client.Id), new StringContent($"later {i}"))).StatusCode);
            Assert.Equal($"later {i}", await client.ReceiveTextAsync());
        }

        Assert.False(Link(b).IsLinked(NodeId(a)));
        Assert.Equal(0, (await FramesAsync(b)).Sent);
        Assert.Equal(0, (await FramesAsync(a)).Received);
    }

    [Fact]
    public async Task A_node_without_the_link_and_a_node_with_it_reach_each_other_through_the_engine()
    {
        await using var store = await Store.StartAsync("redis");
        await using var linked = await store.NodeAsync(Link());
        await using var plain = await store.NodeAsync([]);
        await using var onLinked = await linked.ConnectAsync();
        await using var onPlain = await plain.ConnectAsync();
        using var viaLinked = Management(linked);
        using var viaPlain = Management(plain);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await viaPlain.PostAsync(Connection(onLinked.Id), new StringContent($"to linked {i}"))).StatusCode);
            Assert.Equal($"to linked {i}", await onLinked.ReceiveTextAsync());
            Assert.Equal(HttpStatusCode.OK, (await viaLinked.PostAsync(Connection(onPlain.Id), new StringContent($"to plain {i}"))).StatusCode);
            Assert.Equal($"to plain {i}", await onPlain.ReceiveTextAsync());
        }

        // The plain node's record names no link, and the plain node never opens one: nothing went on a link.
        Assert.Equal((0, 0), await FramesAsync(linked));
    }

    [Fact]
    public async Task Calls_go_through_the_engine_while_the_link_is_cut_and_over_it_again_once_it_is_back()
    {
        await using var store = await Store.StartAsync("nats");
        var listen = NodeProcess.FreePort();
        await using var proxy = new TcpRelay(new IPEndPoint(IPAddress.Loopback, listen));
        await using var a = await store.NodeAsync(Link(listen: $"127.0.0.1:{listen}", advertise: $"127.0.0.1:{proxy.Port}"));
        await using var b = await store.NodeAsync(Link());
        await using var client = await a.ConnectAsync();
        using var viaB = Management(b);
        await PushUntilLinkedAsync(viaB, client, a, b);

        // The link from B to A is cut, and A's address refuses links for a while.
        proxy.Refusing = true;
        proxy.Cut();
        await Wait.UntilAsync(() => !Link(b).IsLinked(NodeId(a)), "node B saw its link to A close");
        var cut = await FramesAsync(b);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(Connection(client.Id), new StringContent($"cut {i}"))).StatusCode);
            Assert.Equal($"cut {i}", await client.ReceiveTextAsync());
        }

        Assert.Equal(cut.Sent, (await FramesAsync(b)).Sent);

        // Back: B opens the link again on a later call, past its delay.
        proxy.Refusing = false;
        await PushUntilLinkedAsync(viaB, client, a, b);
        var back = await FramesAsync(b);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(Connection(client.Id), new StringContent($"back {i}"))).StatusCode);
            Assert.Equal($"back {i}", await client.ReceiveTextAsync());
        }

        Assert.Equal(5, (await FramesAsync(b)).Sent - back.Sent);
    }

    [Fact]
    public async Task A_link_without_a_secret_refuses_to_start()
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Cluster:Link:Listen"] = "127.0.0.1:0" }));
        Assert.Contains("Gateway:Cluster:Link:Secret is required", failure.Message, StringComparison.Ordinal);
    }

    private static Uri Connection(string id) => new($"/@connections/{id}", UriKind.Relative);

    private static HttpClient Management(GatewayHost host) => new() { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };

    private static NodeLink Link(GatewayHost host) => host.Services.GetRequiredService<NodeLink>();

    private static string NodeId(GatewayHost host) => host.Services.GetRequiredService<GatewayNode>().Id;

    /// <summary>
    /// Pushes from B to a client on A until both nodes' links to each other are up (the first calls go through the
    /// engine), and each node has asked the other for its presence members, a directed call of its own that would
    /// otherwise fall among the frames a test counts.
    /// </summary>
    private static async Task PushUntilLinkedAsync(HttpClient viaB, TestClient client, GatewayHost a, GatewayHost b)
    {
        var pushes = 0;
        await Wait.UntilAsync(
            async () =>
            {
                Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(Connection(client.Id), new StringContent($"warm {pushes}"))).StatusCode);
                Assert.Equal($"warm {pushes++}", await client.ReceiveTextAsync());
                return Link(b).IsLinked(NodeId(a)) && Link(a).IsLinked(NodeId(b))
                    && Backplane(a).HasReadMembersOf(NodeId(b)) && Backplane(b).HasReadMembersOf(NodeId(a));
            },
            "the nodes linked to each other and read each other's members");
    }

    private static ClusterBackplane Backplane(GatewayHost host) => host.Services.GetRequiredService<ClusterBackplane>();

    /// <summary>The link frames one node counted so far (its own meter: the hosts of one test process share the metrics endpoint's).</summary>
    private static Task<(long Sent, long Received)> FramesAsync(GatewayHost host) =>
        Task.FromResult(Frames.Of(host).Totals);

    /// <summary>Sums one host's <c>gateway.backplane.link.frames</c> by direction.</summary>
    private sealed class Frames : IDisposable
    {
        private static readonly ConditionalWeakTable<GatewayHost, Frames> Counts = new();
        private readonly MeterListener _listener = new();
        private long _sent;
        private long _received;

        private Frames(GatewayHost host)
        {
            var meters = host.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (published, listener) =>
            {
                if (published.Name == "gateway.backplane.link.frames" && ReferenceEquals(published.Meter.Scope, meters))
                {
                    listener.EnableMeasurementEvents(published);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag is { Key: "direction", Value: "sent" })
                    {
                        Interlocked.Add(ref _sent, value);
                    }
                    else if (tag is { Key: "direction", Value: "received" })
                    {
                        Interlocked.Add(ref _received, value);
                    }
                }
            });
            _listener.Start();
        }

        public (long Sent, long Received) Totals => (Interlocked.Read(ref _sent), Interlocked.Read(ref _received));

        /// <summary>Counts from the host's start: taken when the node is started.</summary>
        public static Frames Of(GatewayHost host) => Counts.GetValue(host, h => new Frames(h));

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Redis or NATS for two nodes, with short timings.</summary>
    private sealed class Store : IAsyncDisposable
    {
        private readonly RedisServer? _redis;
        private readonly NatsServer? _nats;
        private readonly List<Frames> _frames = [];

        private Store(RedisServer? redis, NatsServer? nats)
        {
            _redis = redis;
            _nats = nats;
        }

        public static async Task<Store> StartAsync(string engine) =>
            engine == "redis" ? new Store(await RedisServer.StartAsync(), null) : new Store(null, await NatsServer.StartAsync());

        public async Task<GatewayHost> NodeAsync((string Key, string? Value)[] link, Action<Gateway.Hosting.IGatewayBuilder>? gateway = null)
        {
            var settings = _redis is not null
                ? new Dictionary<string, string?>
                {
                    ["Gateway:Redis:Configuration"] = _redis.Configuration,
                    ["Gateway:Redis:HeartbeatInterval"] = "00:00:00.3",
                    ["Gateway:Redis:NodeTtl"] = "00:00:03",
                    ["Gateway:Redis:RequestTimeout"] = "00:00:01",
                }
                : new Dictionary<string, string?>
                {
                    ["Gateway:Nats:Url"] = _nats!.Url,
                    ["Gateway:Nats:HeartbeatInterval"] = "00:00:00.3",
                    ["Gateway:Nats:NodeTtl"] = "00:00:03",
                    ["Gateway:Nats:RequestTimeout"] = "00:00:01",
                };
            foreach (var (key, value) in link)
            {
                settings[key] = value;
            }

            var host = await GatewayHost.StartAsync(settings, gateway, realClock: true);
            _frames.Add(Frames.Of(host));
            await Wait.UntilAsync(() => host.Services.GetRequiredService<ClusterBackplane>().IsConnected, "the node announced itself");
            return host;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var frames in _frames)
            {
                frames.Dispose();
            }

            if (_redis is not null)
            {
                await _redis.DisposeAsync();
            }

            if (_nats is not null)
            {
                await _nats.DisposeAsync();
            }
        }
    }
}
