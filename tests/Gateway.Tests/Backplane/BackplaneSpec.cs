using System.Text;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Backplane;

/// <summary>
/// The cluster protocol as every backplane adapter must carry it: two (or three) real gateway nodes on one store.
/// A subclass names the store; an adapter that passes this suite is an adapter.
/// </summary>
public abstract class BackplaneSpec : IAsyncLifetime
{
    /// <summary>How long a silent node keeps its liveness record in these tests: longer than any test.</summary>
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(1);

    private readonly List<IAsyncDisposable> _owned = [];

    /// <summary>What every key and channel of one test starts with, so that tests sharing one store never meet.</summary>
    protected string Prefix { get; } = "spec" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Starts a node on the store with a heartbeat of 0.3 s, a liveness of 3 s and a request timeout of 1 s.</summary>
    protected abstract Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings);

    /// <summary>A bare transport on the store, not yet connected.</summary>
    protected abstract IBackplaneTransport CreateTransport();

    /// <summary>Publishes <paramref name="body"/> into the store's event bus for <paramref name="topic"/>, as a service would.</summary>
    protected abstract Task PublishRawToEventBusAsync(string topic, string body);

    /// <summary>
    /// Publishes an event of <paramref name="type"/> with <paramref name="data"/> (JSON) into the store's event bus for
    /// <paramref name="topic"/>, as a service would, in the store's form: <c>{"type","data"}</c> unless the store says otherwise.
    /// </summary>
    protected virtual Task PublishToEventBusAsync(string topic, string type, string data) =>
        PublishRawToEventBusAsync(topic, $$"""{"type":"{{type}}","data":{{data}}}""");

    /// <summary>Publishes into the store's event bus what the gateway must refuse, as a service might: for <paramref name="topic"/>, and for a channel that is no topic.</summary>
    protected virtual async Task PublishBadEventsToEventBusAsync(string topic)
    {
        await PublishRawToEventBusAsync(topic, "not json");
        await PublishRawToEventBusAsync(topic, """{"data":1}""");
        await PublishRawToEventBusAsync("bus.*", """{"type":"x"}""");
    }

    /// <summary>
    /// True when each topic is numbered on its own (1, 2, 3...); false when topics share the numbers of the stream that
    /// keeps them (increasing per topic, with gaps where other topics took numbers), as NATS JetStream numbers them.
    /// </summary>
    protected virtual bool NumbersEachTopicOnItsOwn => true;

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    private async Task<GatewayHost> NodeAsync(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var host = await StartHostAsync(settings);
        _owned.Add(host);
        await Wait.UntilAsync(() => Cluster(host).IsConnected, "the node announced itself", TimeSpan.FromSeconds(20));
        return host;
    }

    private async Task<IBackplaneTransport> BareNodeAsync(string nodeId)
    {
        var transport = CreateTransport();
        if (transport is IAsyncDisposable disposable)
        {
            _owned.Add(disposable);
        }

        await transport.ConnectAsync(nodeId, new SilentReceiver(), CancellationToken.None).WithTimeout();
        await transport.SubscribeAsync().WithTimeout();
        return transport;
    }

    private static ClusterBackplane Cluster(GatewayHost host) => host.Services.GetRequiredService<ClusterBackplane>();

    private static string NodeId(GatewayHost host) => host.Services.GetRequiredService<GatewayNode>().Id;

    private static OutboundMessage Text(string text) => OutboundMessage.Text(Encoding.UTF8.GetBytes(text));

    private static async Task AssertNothingMoreAsync(params TestClient[] clients)
    {
        foreach (var client in clients)
        {
            await client.SendTextAsync("""{"action":"ping"}""");
            Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
        }
    }

    [Fact]
    public async Task Push_describe_set_attributes_and_delete_reach_a_connection_on_another_node()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var client = await a.ConnectAsync();

        Assert.Equal(SendResult.Sent, await b.Sender.SendAsync(client.Id, Text("hello")).AsTask().WithTimeout());
        Assert.Equal("hello", await client.ReceiveTextAsync());
        Assert.True(await b.Sender.SetAttributesAsync(client.Id, new Dictionary<string, string?> { ["room"] = "lobby" }).AsTask().WithTimeout());
        var described = await b.Sender.GetConnectionAsync(client.Id).AsTask().WithTimeout();
        Assert.NotNull(described);
        Assert.Equal(client.Id, described.ConnectionId);
        Assert.Equal("127.0.0.1", described.SourceIp);
        Assert.Equal("lobby", described.Attributes["room"]);

        Assert.True(await b.Sender.DisconnectAsync(client.Id).AsTask().WithTimeout());
        Assert.Equal(1000, (await client.Closed.WithTimeout()).CloseStatus);
        await Wait.UntilAsync(() => a.Registry.Count == 0, "the deleted connection left node A");
        Assert.Equal(SendResult.Gone, await b.Sender.SendAsync(client.Id, Text("late")).AsTask().WithTimeout());
        Assert.Null(await b.Sender.GetConnectionAsync(client.Id).AsTask().WithTimeout());
    }

    [Fact]
    public async Task A_user_send_reaches_the_users_connections_on_every_node_and_nobody_else()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var now = DateTimeOffset.UtcNow;
        await using var aliceOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var aliceOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var bobOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");

        await b.Services.GetRequiredService<IGatewayPublisher>().SendToUserAsync("alice", Text("for alice")).AsTask().WithTimeout();
        Assert.Equal("for alice", await aliceOnA.ReceiveTextAsync());
        Assert.Equal("for alice", await aliceOnB.ReceiveTextAsync());
        await AssertNothingMoreAsync(aliceOnA, aliceOnB, bobOnA);
    }

    [Fact]
    public async Task A_broadcast_reaches_every_connection_of_every_node_once()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();

        await a.Sender.BroadcastAsync(Text("everyone")).AsTask().WithTimeout();
        Assert.Equal("everyone", await onA.ReceiveTextAsync());
        Assert.Equal("everyone", await onB.ReceiveTextAsync());
        await AssertNothingMoreAsync(onA, onB);
    }

    [Fact]
    public async Task A_topic_publish_reaches_each_subscriber_of_every_node_once()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        foreach (var client in new[] { onA, onB })
        {
            // Two patterns that both match: still one delivery.
            foreach (var channel in new[] { "news.>", "news.*" })
            {
                await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
                Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
            }
        }

        await a.Services.GetRequiredService<IGatewayPublisher>().PublishAsync("news.today", "headline", "1"u8.ToArray()).AsTask().WithTimeout();
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal("""{"type":"headline","channel":"news.today","data":1}""", await client.ReceiveTextAsync());
        }

        await AssertNothingMoreAsync(onA, onB);
    }

    [Fact]
    public async Task An_event_a_service_publishes_into_the_event_bus_reaches_the_subscribers_of_every_node_and_a_bad_one_is_dropped()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        foreach (var client in new[] { onA, onB })
        {
            await client.SendTextAsync("""{"action":"subscribe","channel":"bus.room"}""");
            await TopicTests.NextJsonAsync(client);
        }

        await PublishBadEventsToEventBusAsync("bus.room");
        await PublishToEventBusAsync("bus.room", "posted", """{"n":1}""");
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal("""{"type":"posted","channel":"bus.room","data":{"n":1}}""", await client.ReceiveTextAsync());
        }

        await AssertNothingMoreAsync(onA, onB);
    }

    [Fact]
    public async Task The_ids_of_a_node_that_left_answer_gone()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        string id;
        await using (var client = await a.ConnectAsync())
        {
            id = client.Id;
        }

        await a.DisposeAsync();
        Assert.Equal(SendResult.Gone, await b.Sender.SendAsync(id, Text("x")).AsTask().WithTimeout());
        Assert.Null(await b.Sender.GetConnectionAsync(id).AsTask().WithTimeout());
        Assert.False(await b.Sender.DisconnectAsync(id).AsTask().WithTimeout());
    }

    [Fact]
    public async Task A_node_that_may_only_be_reconnecting_answers_unavailable_and_gone_once_its_liveness_is_gone()
    {
        var b = await NodeAsync();
        const string Silent = "ZZZZZZZZ";
        var silent = await BareNodeAsync(Silent);
        await silent.RenewLivenessAsync(Silent, ClusterBackplane.ReadsBatches, Long).WithTimeout();
        var id = ConnectionId.Mint(Silent, 7);

        // It listens, alive, and does not answer: unavailable at the request timeout.
        Assert.Equal(SendResult.Unavailable, await b.Sender.SendAsync(id, Text("x")).AsTask().WithTimeout());

        // Nobody listens any more, but its liveness holds: it may be reconnecting.
        await ((IAsyncDisposable)silent).DisposeAsync();
        Assert.Equal(SendResult.Unavailable, await b.Sender.SendAsync(id, Text("x")).AsTask().WithTimeout());

        // Its liveness gone: gone.
        var other = await BareNodeAsync("OTHERNOD");
        await other.RemoveLivenessAsync(Silent).WithTimeout();
        Assert.Equal(SendResult.Gone, await b.Sender.SendAsync(id, Text("x")).AsTask().WithTimeout());
    }

    [Fact]
    public async Task History_is_numbered_per_topic_across_nodes_and_a_client_recovers_through_another_node()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var watcher = await b.ConnectAsync();
        await watcher.SendTextAsync("""{"action":"subscribe","channel":"events.room"}""");
        var epoch = (await TopicTests.NextJsonAsync(watcher)).GetProperty("epoch").GetString()!;
        for (var n = 1; n <= 4; n++)
        {
            var via = n % 2 == 0 ? a : b;
            await via.Services.GetRequiredService<IGatewayPublisher>().PublishAsync("events.room", "tick", Encoding.UTF8.GetBytes($"{n}")).AsTask().WithTimeout();
        }

        for (var n = 1; n <= 4; n++)
        {
            var e = await TopicTests.NextJsonAsync(watcher);
            Assert.Equal(n, e.GetProperty("offset").GetInt64());
            Assert.Equal(n, e.GetProperty("data").GetInt32());
        }

        // Another topic counts from 1 on its own, or goes on from the stream's last number (4) when topics share one.
        await using var other = await a.ConnectAsync();
        await other.SendTextAsync("""{"action":"subscribe","channel":"events.other"}""");
        await TopicTests.NextJsonAsync(other);
        await b.Services.GetRequiredService<IGatewayPublisher>().PublishAsync("events.other", "tick", "0"u8.ToArray()).AsTask().WithTimeout();
        Assert.Equal(NumbersEachTopicOnItsOwn ? 1 : 5, (await TopicTests.NextJsonAsync(other)).GetProperty("offset").GetInt64());

        // A client that saw offset 2 comes back through node A and gets 3 and 4, then live events.
        await using var back = await a.ConnectAsync();
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"events.room","since":{"offset":2,"epoch":"{{{epoch}}}"}}""");
        var resumed = await TopicTests.NextJsonAsync(back);
        Assert.Equal(epoch, resumed.GetProperty("epoch").GetString());
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        Assert.Equal(3, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
        Assert.Equal(4, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
        await b.Services.GetRequiredService<IGatewayPublisher>().PublishAsync("events.room", "tick", "5"u8.ToArray()).AsTask().WithTimeout();
        Assert.Equal(NumbersEachTopicOnItsOwn ? 5 : 6, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_cluster_query_gathers_the_answers_and_names_the_nodes_that_did_not_answer()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var now = DateTimeOffset.UtcNow;
        await using var aliceOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");

        var whole = await Cluster(b).QueryAllAsync(new ClusterQuery(ClusterQuery.UserConnections, "alice"), TimeSpan.FromSeconds(1), CancellationToken.None).AsTask().WithTimeout();
        Assert.True(whole.Complete);
        Assert.Equal([NodeId(a)], whole.Answers.Select(x => x.Key));
        Assert.Equal(aliceOnA.Id, Encoding.UTF8.GetString(whole.Answers[0].Value));

        // A live node that does not answer before the deadline.
        const string Silent = "QUIETNOD";
        var silent = await BareNodeAsync(Silent);
        await silent.RenewLivenessAsync(Silent, ClusterBackplane.ReadsBatches, Long).WithTimeout();
        var partial = await Cluster(b).QueryAllAsync(new ClusterQuery(ClusterQuery.UserConnections, "alice"), TimeSpan.FromMilliseconds(500), CancellationToken.None).AsTask().WithTimeout();
        Assert.False(partial.Complete);
        Assert.Equal([Silent], partial.MissingNodes);
        Assert.Equal([NodeId(a)], partial.Answers.Select(x => x.Key));

        var users = await Cluster(b).UserConnectionsAsync("alice", CancellationToken.None).AsTask().WithTimeout();
        Assert.Equal([aliceOnA.Id], users.ConnectionIds);
        Assert.Equal([Silent], users.Unreachable);
    }

    [Fact]
    public async Task Shared_keys_are_read_on_every_node_claimed_once_and_expire()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        Assert.True(await Cluster(a).SetKeyAsync("idem:k1", "first"u8.ToArray(), Long, onlyIfAbsent: true, CancellationToken.None).AsTask().WithTimeout());
        Assert.False(await Cluster(b).SetKeyAsync("idem:k1", "second"u8.ToArray(), Long, onlyIfAbsent: true, CancellationToken.None).AsTask().WithTimeout());
        Assert.Equal("first", Encoding.UTF8.GetString((await Cluster(b).GetKeyAsync("idem:k1", CancellationToken.None).AsTask().WithTimeout())!));

        await Cluster(b).DeleteKeyAsync("idem:k1", CancellationToken.None).AsTask().WithTimeout();
        Assert.Null(await Cluster(a).GetKeyAsync("idem:k1", CancellationToken.None).AsTask().WithTimeout());

        Assert.True(await Cluster(a).SetKeyAsync("idem:k2", "brief"u8.ToArray(), TimeSpan.FromMilliseconds(300), onlyIfAbsent: false, CancellationToken.None).AsTask().WithTimeout());
        await Wait.UntilAsync(async () => await Cluster(b).GetKeyAsync("idem:k2", CancellationToken.None) is null, "the key expired");
    }

    [Fact]
    public async Task A_presence_member_joined_on_one_node_is_seen_on_another_until_it_leaves_or_its_node_dies()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var changes = new System.Collections.Concurrent.ConcurrentQueue<PresenceChange>();
        Cluster(b).PresenceChanged += (_, change) => changes.Enqueue(change);

        await Cluster(a).JoinPresenceAsync("room", "alice", CancellationToken.None).AsTask().WithTimeout();
        await Wait.UntilAsync(() => changes.Count == 1, "node B heard of the join");
        Assert.Equal(new PresenceChange("room", "alice", NodeId(a), true), changes.Single());
        var seen = await Cluster(b).PresenceAsync("room", TimeSpan.FromSeconds(1), CancellationToken.None).AsTask().WithTimeout();
        Assert.Equal(["alice"], seen.Members);
        Assert.True(seen.Complete);

        await Cluster(a).LeavePresenceAsync("room", "alice", CancellationToken.None).AsTask().WithTimeout();
        await Wait.UntilAsync(() => changes.Count == 2, "node B heard of the leave");
        Assert.Empty((await Cluster(b).PresenceAsync("room", TimeSpan.FromSeconds(1), CancellationToken.None).AsTask().WithTimeout()).Members);

        await Cluster(a).JoinPresenceAsync("room", "carol", CancellationToken.None).AsTask().WithTimeout();
        Assert.Equal(["carol"], (await Cluster(b).PresenceAsync("room", TimeSpan.FromSeconds(1), CancellationToken.None).AsTask().WithTimeout()).Members);
        await a.DisposeAsync();
        var after = await Cluster(b).PresenceAsync("room", TimeSpan.FromSeconds(1), CancellationToken.None).AsTask().WithTimeout();
        Assert.Empty(after.Members);
        Assert.True(after.Complete);
    }

    [Fact]
    public async Task A_call_to_a_session_that_moved_goes_to_the_node_it_moved_to()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();

        // A session first opened on a node that is gone now lives on node B under its old id.
        var id = ConnectionId.Mint("MOVEDAWY", 1);
        var moved = new GatewayConnection(id, new HandshakeInfo("10.1.2.3", null, null, new HeaderDictionary(), QueryCollection.Empty), b.Services.GetRequiredService<ConnectionRuntime>());
        b.Registry.Add(moved);
        try
        {
            Assert.Equal(SendResult.Gone, await a.Sender.SendAsync(id, Text("before")).AsTask().WithTimeout());

            var records = await BareNodeAsync("RECORDER");
            Assert.True(await records.SetKeyAsync(ClusterBackplane.SessionKey(id), Encoding.UTF8.GetBytes(NodeId(b)), Long, onlyIfAbsent: false).WithTimeout());
            Assert.Equal(SendResult.Sent, await a.Sender.SendAsync(id, Text("after")).AsTask().WithTimeout());
            Assert.Equal(1, moved.QueuedMessages);

            // From node B itself, the record sends the call to its own connections.
            Assert.Equal(SendResult.Sent, await b.Sender.SendAsync(id, Text("again")).AsTask().WithTimeout());
            Assert.Equal(2, moved.QueuedMessages);
        }
        finally
        {
            b.Registry.Remove(moved);
        }
    }
}
