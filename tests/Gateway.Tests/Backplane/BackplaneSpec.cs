using System.Globalization;
using System.Net;
using System.Text;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Management;
using Gateway.Tests.Topics;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Backplane;

/// <summary>
/// The cluster protocol as every backplane adapter must carry it: two (or three) real gateway nodes on one store.
/// A subclass names the store; an adapter that passes this suite (and <see cref="BackplaneMessagingSpec"/>, the calls that
/// ride only on its messages) is an adapter. This part is what depends on the store itself: history, shared keys,
/// liveness, presence, moved sessions and the event bus. A topic's offsets increase and are
/// not consecutive on every engine: the suite asserts + 1 only where the engine says its offsets are consecutive.
/// </summary>
public abstract class BackplaneSpec : IAsyncLifetime
{
    /// <summary>How long a silent node keeps its liveness record in these tests: longer than any test.</summary>
    protected static readonly TimeSpan Lasting = TimeSpan.FromMinutes(1);

    protected static readonly string[] ExcludedSends = [.. new[] { "all", "alice", """{"type":"t","channel":"news.today","data":1}""", """{"type":"t","channel":"bus.today","data":2}""" }.Order(StringComparer.Ordinal)];

    protected static readonly string[] OnceAndPushed = ["once", "pushed"];

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

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }
    }

    protected async Task<GatewayHost> NodeAsync(params (string Key, string? Value)[] extra)
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

    protected async Task<IBackplaneTransport> BareNodeAsync(string nodeId)
    {
        var transport = CreateTransport();
        if (transport is IAsyncDisposable disposable)
        {
            _owned.Add(disposable);
        }

        await transport.ConnectAsync(nodeId, new SilentReceiver(), CancellationToken.None).WithTimeout();

        // As a node does at its next heartbeat, subscribing again when the store's connection is not ready yet.
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    await transport.SubscribeAsync().WithTimeout();
                    return true;
                }
                catch (BackplaneUnavailableException)
                {
                    return false;
                }
            },
            "the bare node subscribed");
        return transport;
    }

    protected static ClusterBackplane Cluster(GatewayHost host) => host.Services.GetRequiredService<ClusterBackplane>();

    protected static string NodeId(GatewayHost host) => host.Services.GetRequiredService<GatewayNode>().Id;

    protected static OutboundMessage Text(string text) => OutboundMessage.Text(Encoding.UTF8.GetBytes(text));

    protected static async Task AssertNothingMoreAsync(params TestClient[] clients)
    {
        foreach (var client in clients)
        {
            await client.SendTextAsync("""{"action":"ping"}""");
            Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
        }
    }

    [Fact]
    public async Task A_user_subscribe_reaches_the_users_connections_on_every_node_and_later_ones_with_for()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var now = DateTimeOffset.UtcNow;
        await using var aliceOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var aliceOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var bobOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");

        var put = await Management.SubscriptionsApiTests.CallAsync(b, HttpMethod.Put, "/@users/alice/topics/news?for=PT10M");
        Assert.Equal(System.Net.HttpStatusCode.OK, put.Status);
        Assert.Equal("""{"connections":2}""", put.Body);
        foreach (var alice in new[] { aliceOnA, aliceOnB })
        {
            Assert.Equal("""{"type":"subscribed","channel":"news","by":"server"}""", await alice.ReceiveTextAsync());
        }

        // A connection the user opens later, on the other node, is subscribed as it connects.
        await using var later = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        Assert.Equal("""{"type":"subscribed","channel":"news","by":"server"}""", await later.ReceiveTextAsync());
        await AssertNothingMoreAsync(later, bobOnA);

        var delete = await Management.SubscriptionsApiTests.CallAsync(a, HttpMethod.Delete, "/@users/alice/topics/news?for=PT10M");
        Assert.Equal("""{"connections":3}""", delete.Body);
        foreach (var alice in new[] { aliceOnA, aliceOnB, later })
        {
            Assert.Equal("""{"type":"unsubscribed","channel":"news","by":"server"}""", await alice.ReceiveTextAsync());
        }

        await using var afterForget = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await AssertNothingMoreAsync(afterForget, bobOnA);
    }

    [Fact]
    public async Task The_same_idempotency_key_sent_to_two_nodes_delivers_once_and_the_second_answers_the_first_answer()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();

        var first = await Management.ManagementCalls.PostAsync(a, "/@broadcast", "once", idempotencyKey: Prefix, contentType: "text/plain");
        var repeat = await Management.ManagementCalls.PostAsync(b, "/@broadcast", "once", idempotencyKey: Prefix, contentType: "text/plain");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("""{"delivered":1}""", first.Text);
        Assert.Equal(first.Status, repeat.Status);
        Assert.Equal(first.Text, repeat.Text);

        var push = await Management.ManagementCalls.PostAsync(b, $"/@connections/{onA.Id}", "pushed", idempotencyKey: Prefix, contentType: "text/plain");
        var pushAgain = await Management.ManagementCalls.PostAsync(a, $"/@connections/{onA.Id}", "pushed", idempotencyKey: Prefix, contentType: "text/plain");
        Assert.Equal(HttpStatusCode.OK, push.Status);
        Assert.Equal(HttpStatusCode.OK, pushAgain.Status);

        // The broadcast and the push take different channels: either may arrive first.
        Assert.Equal(OnceAndPushed, new[] { await onA.ReceiveTextAsync(), await onA.ReceiveTextAsync() }.Order(StringComparer.Ordinal));
        Assert.Equal("once", await onB.ReceiveTextAsync());
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
        await silent.RenewLivenessAsync(Silent, ClusterBackplane.ReadsBatches, Lasting).WithTimeout();
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

    /// <summary>
    /// Offsets of a topic increase, and are not consecutive on every engine (a JetStream stream numbers many topics with
    /// one sequence): clients may not assume + 1. An engine that says its offsets are consecutive must give them so,
    /// since a jump then means events were missed.
    /// </summary>
    protected static long AssertFollows(GatewayHost node, long previous, System.Text.Json.JsonElement e)
    {
        var offset = e.GetProperty("offset").GetInt64();
        Assert.True(offset > previous, $"offset {offset} after {previous}");
        if (Cluster(node).ConsecutiveOffsets)
        {
            Assert.Equal(previous + 1, offset);
        }

        return offset;
    }

    protected static async Task PublishAsync(GatewayHost via, string topic, int n) =>
        await via.Services.GetRequiredService<IGatewayPublisher>().PublishAsync(topic, "tick", Encoding.UTF8.GetBytes($"{n}")).AsTask().WithTimeout();

    [Fact]
    public async Task History_is_numbered_per_topic_across_nodes_and_a_client_recovers_through_another_node()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var watcher = await b.ConnectAsync();
        await watcher.SendTextAsync("""{"action":"subscribe","channel":"events.room"}""");
        var subscribed = await TopicTests.NextJsonAsync(watcher);
        var epoch = subscribed.GetProperty("epoch").GetString()!;
        for (var n = 1; n <= 4; n++)
        {
            await PublishAsync(n % 2 == 0 ? a : b, "events.room", n);
        }

        var offsets = new List<long> { subscribed.GetProperty("offset").GetInt64() };
        for (var n = 1; n <= 4; n++)
        {
            var e = await TopicTests.NextJsonAsync(watcher);
            offsets.Add(AssertFollows(a, offsets[^1], e));
            Assert.Equal(n, e.GetProperty("data").GetInt32());
        }

        // Another topic has offsets of its own.
        await using var other = await a.ConnectAsync();
        await other.SendTextAsync("""{"action":"subscribe","channel":"events.other"}""");
        var otherSince = (await TopicTests.NextJsonAsync(other)).GetProperty("offset").GetInt64();
        await PublishAsync(b, "events.other", 0);
        AssertFollows(a, otherSince, await TopicTests.NextJsonAsync(other));

        // A client that saw the second event comes back through node A and gets the third and fourth, then live events.
        await using var back = await a.ConnectAsync();
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"events.room","since":{"offset":{{{offsets[2]}}},"epoch":"{{{epoch}}}"}}""");
        var resumed = await TopicTests.NextJsonAsync(back);
        Assert.Equal(epoch, resumed.GetProperty("epoch").GetString());
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        Assert.Equal(offsets[4], resumed.GetProperty("offset").GetInt64());
        Assert.Equal(offsets[3], (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
        Assert.Equal(offsets[4], (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
        await PublishAsync(b, "events.room", 5);
        var live = await TopicTests.NextJsonAsync(back);
        AssertFollows(a, offsets[4], live);
        Assert.Equal(5, live.GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task A_client_recovers_through_another_node_exactly_the_events_of_its_topic_it_missed_while_other_topics_published_between()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        string epoch;
        long seen;
        await using (var client = await a.ConnectAsync())
        {
            await client.SendTextAsync("""{"action":"subscribe","channel":"events.t"}""");
            var subscribed = await TopicTests.NextJsonAsync(client);
            epoch = subscribed.GetProperty("epoch").GetString()!;
            seen = subscribed.GetProperty("offset").GetInt64();
            for (var n = 1; n <= 3; n++)
            {
                // Events of another topic between those of this one: on an engine with one sequence, gaps in this one's.
                await PublishAsync(n % 2 == 0 ? a : b, "events.u", n);
                await PublishAsync(n % 2 == 0 ? b : a, "events.t", n);
                var e = await TopicTests.NextJsonAsync(client);
                Assert.Equal(n, e.GetProperty("data").GetInt32());
                seen = AssertFollows(a, seen, e);
            }
        }

        for (var n = 4; n <= 6; n++)
        {
            await PublishAsync(a, "events.u", n);
            await PublishAsync(n % 2 == 0 ? a : b, "events.t", n);
        }

        await PublishAsync(b, "events.u", 7);

        // Back through node B, which never held the topic, with the last offset seen: the three missed, in order.
        await using var back = await b.ConnectAsync();
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"events.t","since":{"offset":{{{seen}}},"epoch":"{{{epoch}}}"}}""");
        var resumed = await TopicTests.NextJsonAsync(back);
        Assert.Equal("subscribed", resumed.GetProperty("type").GetString());
        Assert.Equal(epoch, resumed.GetProperty("epoch").GetString());
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        var last = seen;
        for (var n = 4; n <= 6; n++)
        {
            var e = await TopicTests.NextJsonAsync(back);
            Assert.Equal(n, e.GetProperty("data").GetInt32());
            last = AssertFollows(a, last, e);
        }

        Assert.Equal(last, resumed.GetProperty("offset").GetInt64());

        // Then live events, and nothing else: no duplicate, no event of the other topic.
        await PublishAsync(a, "events.u", 8);
        await PublishAsync(a, "events.t", 7);
        var live = await TopicTests.NextJsonAsync(back);
        Assert.Equal(7, live.GetProperty("data").GetInt32());
        AssertFollows(a, last, live);
        await AssertNothingMoreAsync(back);
    }

    [Fact]
    public async Task Shared_keys_are_read_on_every_node_claimed_once_and_expire()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        Assert.True(await Cluster(a).SetKeyAsync("idem:k1", "first"u8.ToArray(), Lasting, onlyIfAbsent: true, CancellationToken.None).AsTask().WithTimeout());
        Assert.False(await Cluster(b).SetKeyAsync("idem:k1", "second"u8.ToArray(), Lasting, onlyIfAbsent: true, CancellationToken.None).AsTask().WithTimeout());

        // A claim is decided by the store once; what another node reads may lag it by a moment (a replicated NATS bucket
        // answers reads from any replica), which the idempotency filter's polling allows for.
        await Wait.UntilAsync(async () => await Cluster(b).GetKeyAsync("idem:k1", CancellationToken.None) is { } value && Encoding.UTF8.GetString(value) == "first", "the other node reads the claim");

        await Cluster(b).DeleteKeyAsync("idem:k1", CancellationToken.None).AsTask().WithTimeout();
        await Wait.UntilAsync(async () => await Cluster(a).GetKeyAsync("idem:k1", CancellationToken.None) is null, "the other node reads the deletion");

        Assert.True(await Cluster(a).SetKeyAsync("idem:k2", "brief"u8.ToArray(), TimeSpan.FromMilliseconds(300), onlyIfAbsent: false, CancellationToken.None).AsTask().WithTimeout());
        await Wait.UntilAsync(async () => await Cluster(b).GetKeyAsync("idem:k2", CancellationToken.None) is null, "the key expired");
    }

    [Fact]
    public async Task Live_nodes_are_listed_once_each_while_they_renew()
    {
        // A listing read while records are being renewed (every node renews its own, all the time) names each node once:
        // a node listed twice would be asked twice, and its answers (subscriber counts, members) counted twice.
        var transport = await BareNodeAsync("LISTER00");
        var ids = Enumerable.Range(0, 100).Select(i => string.Create(CultureInfo.InvariantCulture, $"LIVE{i:D4}")).ToArray();
        foreach (var id in ids)
        {
            await transport.RenewLivenessAsync(id, ClusterBackplane.ReadsBatches, Lasting).WithTimeout();
        }

        // One renewal at a time, as nodes renew, only faster: a store that other tests share is not to be flooded.
        using var stop = new CancellationTokenSource();
        var renewing = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await transport.RenewLivenessAsync(ids[i % ids.Length], ClusterBackplane.ReadsBatches, Lasting);
            }
        });
        try
        {
            for (var i = 0; i < 10; i++)
            {
                var listed = await transport.LiveNodesAsync().WithTimeout();
                Assert.Equal(listed.Count, listed.Distinct(StringComparer.Ordinal).Count());
                Assert.Subset(listed.ToHashSet(StringComparer.Ordinal), ids.ToHashSet(StringComparer.Ordinal));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await renewing.WithTimeout();
        }

        // A node that leaves takes its record with it: the listing no longer names it.
        await transport.RemoveLivenessAsync(ids[0]).WithTimeout();
        var after = await transport.LiveNodesAsync().WithTimeout();
        Assert.DoesNotContain(ids[0], after);
        Assert.Contains(ids[1], after);
    }

    [Fact]
    public async Task Presence_joins_and_leaves_reach_every_node_once_and_a_lost_nodes_members_leave_once()
    {
        (string, string?)[] presence = [("Gateway:Topics:Presence:0:Pattern", "room.*"), ("Gateway:Topics:Presence:InfoClaims:0", "name")];
        var a = await NodeAsync(presence);
        var b = await NodeAsync(presence);
        var now = DateTimeOffset.UtcNow;
        await using var watcherOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "wendy", claims: new Dictionary<string, object> { ["name"] = "Wendy" })}");
        await using var watcherOnA = await a.ConnectAsync();
        await watcherOnB.SendTextAsync("""{"action":"subscribe","channel":"room.1"}""");
        Assert.Equal("""{"type":"subscribed","channel":"room.1"}""", await watcherOnB.ReceiveTextAsync());
        await Wait.UntilAsync(() => Cluster(a).Presence.Contains("room.1", watcherOnB.Id), "node A heard of the first member");
        await watcherOnA.SendTextAsync("""{"action":"subscribe","channel":"room.1"}""");
        Assert.Equal("""{"type":"subscribed","channel":"room.1"}""", await watcherOnA.ReceiveTextAsync());
        Assert.Equal($$$"""{"type":"join","channel":"room.1","member":{"connectionId":"{{{watcherOnA.Id}}}","userId":null,"info":null}}""", await watcherOnB.ReceiveTextAsync());

        // A member on node A: both watchers hear of it once; the member is not told of itself.
        await using var alice = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice", claims: new Dictionary<string, object> { ["name"] = "Alice" })}");
        await alice.SendTextAsync("""{"action":"subscribe","channel":"room.1"}""");
        Assert.Equal("""{"type":"subscribed","channel":"room.1"}""", await alice.ReceiveTextAsync());
        var aliceJoin = $$$$"""{"type":"join","channel":"room.1","member":{"connectionId":"{{{{alice.Id}}}}","userId":"alice","info":{"name":"Alice"}}}""";
        Assert.Equal(aliceJoin, await watcherOnA.ReceiveTextAsync());
        Assert.Equal(aliceJoin, await watcherOnB.ReceiveTextAsync());

        // Every node answers with every node's members.
        await watcherOnB.SendTextAsync("""{"action":"presence","channel":"room.1","id":7}""");
        var answer = await TopicTests.NextJsonAsync(watcherOnB);
        Assert.Equal("presence", answer.GetProperty("type").GetString());
        Assert.Equal(7, answer.GetProperty("id").GetInt32());
        Assert.Equal(3, answer.GetProperty("count").GetInt32());
        Assert.Equal(new[] { alice.Id, watcherOnA.Id, watcherOnB.Id }.Order(StringComparer.Ordinal), answer.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("connectionId").GetString()!).Order(StringComparer.Ordinal));
        Assert.Contains(answer.GetProperty("members").EnumerateArray(), m => m.GetProperty("userId").GetString() == "wendy" && m.GetProperty("info").GetProperty("name").GetString() == "Wendy");
        var topic = await ManagementCalls.GetJsonAsync(a, "/@topics/room.1");
        Assert.Equal(3, topic.GetProperty("subscribers").GetInt32());
        Assert.Equal(3, topic.GetProperty("members").GetArrayLength());

        await alice.CloseAsync();
        var aliceLeave = aliceJoin.Replace("\"join\"", "\"leave\"", StringComparison.Ordinal);
        Assert.Equal(aliceLeave, await watcherOnA.ReceiveTextAsync());
        Assert.Equal(aliceLeave, await watcherOnB.ReceiveTextAsync());

        // A node that stops renewing its liveness: each of its members leaves once, on every node, after its liveness
        // lapses. When it comes back and re-announces its members, they join once again; its next list leaves them out.
        const string Lost = "LOSTNODE";
        var lost = await BareNodeAsync(Lost);
        await lost.RenewLivenessAsync(Lost, ClusterBackplane.ReadsBatches, TimeSpan.FromSeconds(1)).WithTimeout();
        var ghost = new PresenceMember(ConnectionId.Mint(Lost, 1), "ghost", null);
        await lost.PublishToAllAsync(new BackplaneMessage(BackplaneOperation.PresenceJoin, 0, Lost, "room.1", ghost.ConnectionId, 0, PresenceEncoding.Join(10, ghost)).ToBytes()).WithTimeout();
        var ghostJoin = $$$"""{"type":"join","channel":"room.1","member":{"connectionId":"{{{ghost.ConnectionId}}}","userId":"ghost","info":null}}""";
        Assert.Equal(ghostJoin, await watcherOnA.ReceiveTextAsync());
        Assert.Equal(ghostJoin, await watcherOnB.ReceiveTextAsync());
        var ghostLeave = ghostJoin.Replace("\"join\"", "\"leave\"", StringComparison.Ordinal);
        Assert.Equal(ghostLeave, await watcherOnA.ReceiveTextAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(ghostLeave, await watcherOnB.ReceiveTextAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(2, (await ManagementCalls.GetJsonAsync(b, "/@topics/room.1")).GetProperty("members").GetArrayLength());

        var listed = new PresenceSnapshot(11, [("room.1", ghost, 10)]);
        await lost.PublishToAllAsync(new BackplaneMessage(BackplaneOperation.PresenceSnapshot, 0, Lost, "", "", 0, PresenceEncoding.Snapshots(listed, new PresenceSnapshot(11, []))).ToBytes()).WithTimeout();
        Assert.Equal(ghostJoin, await watcherOnA.ReceiveTextAsync());
        Assert.Equal(ghostJoin, await watcherOnB.ReceiveTextAsync());
        await lost.PublishToAllAsync(new BackplaneMessage(BackplaneOperation.PresenceSnapshot, 0, Lost, "", "", 0, PresenceEncoding.Snapshots(new PresenceSnapshot(12, []), new PresenceSnapshot(12, []))).ToBytes()).WithTimeout();
        Assert.Equal(ghostLeave, await watcherOnA.ReceiveTextAsync());
        Assert.Equal(ghostLeave, await watcherOnB.ReceiveTextAsync());
        await AssertNothingMoreAsync(watcherOnA, watcherOnB);
    }

    [Fact]
    public async Task A_topics_history_is_read_the_same_through_any_node()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        for (var n = 1; n <= 3; n++)
        {
            await PublishAsync(n == 2 ? b : a, "events.read", n);
        }

        var answers = new List<System.Text.Json.JsonElement>();
        foreach (var node in new[] { a, b })
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.ManagementEndPoint.Port}") };
            answers.Add(System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri("/@topics/events.read/history", UriKind.Relative))).RootElement);
        }

        Assert.Equal(answers[0].GetRawText(), answers[1].GetRawText());
        var events = answers[0].GetProperty("events").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], events.Select(e => e.GetProperty("data").GetInt32()));
        Assert.Equal(events[2].GetProperty("offset").GetInt64(), answers[0].GetProperty("offset").GetInt64());

        // From the first event on: the two after it, recovered, through the node that published neither.
        var epoch = answers[0].GetProperty("epoch").GetString();
        await using var client = await b.ConnectAsync();
        await client.SendTextAsync($$$"""{"action":"history","channel":"events.read","since":{"offset":{{{events[0].GetProperty("offset").GetInt64()}}},"epoch":"{{{epoch}}}"}}""");
        var read = await TopicTests.NextJsonAsync(client);
        Assert.True(read.GetProperty("recovered").GetBoolean());
        Assert.Equal([2, 3], read.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetInt32()));
    }

    [Fact]
    public async Task A_clients_publish_reaches_another_node_saying_who_published_it_and_the_shared_history_keeps_that()
    {
        (string, string?)[] publish = [("Gateway:Topics:ClientPublish:0:Pattern", "bus.>"), ("Gateway:Topics:ClientPublish:1:Pattern", "events.>")];
        var a = await NodeAsync(publish);
        var b = await NodeAsync(publish);
        await using var alice = await a.ConnectAsync($"/?token={TestTokens.Mint(DateTimeOffset.UtcNow, "alice")}");
        await using var onB = await b.ConnectAsync();
        await onB.SendTextAsync("""{"action":"subscribe","channel":"bus.chat"}""");
        Assert.Equal("""{"type":"subscribed","channel":"bus.chat"}""", await onB.ReceiveTextAsync());
        await onB.SendTextAsync("""{"action":"subscribe","channel":"events.chat"}""");
        var epoch = (await TopicTests.NextJsonAsync(onB)).GetProperty("epoch").GetString();
        var from = $$"""{"connectionId":"{{alice.Id}}","userId":"alice"}""";

        // Without history: on the all-nodes channel, or on the event bus where the engine carries publishes there.
        await alice.SendTextAsync("""{"action":"publish","channel":"bus.chat","type":"said","data":{"text":"hi"},"id":1}""");
        Assert.Equal("""{"type":"published","channel":"bus.chat","id":1}""", await alice.ReceiveTextAsync());
        Assert.Equal($$$"""{"type":"said","channel":"bus.chat","data":{"text":"hi"},"from":{{{from}}}}""", await onB.ReceiveTextAsync());

        // With a shared history: numbered once; the answer has the position, every node's frame and the history the origin.
        await alice.SendTextAsync("""{"action":"publish","channel":"events.chat","type":"said","data":2,"id":2}""");
        var published = await TopicTests.NextJsonAsync(alice);
        Assert.Equal("published", published.GetProperty("type").GetString());
        Assert.Equal(epoch, published.GetProperty("epoch").GetString());
        var offset = published.GetProperty("offset").GetInt64();
        var frame = $$"""{"type":"said","channel":"events.chat","data":2,"from":{{from}},"offset":{{offset}}}""";
        Assert.Equal(frame, await onB.ReceiveTextAsync());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{b.ManagementEndPoint.Port}") };
        var history = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri("/@topics/events.chat/history", UriKind.Relative))).RootElement;
        Assert.Equal(frame, history.GetProperty("events").EnumerateArray().Single().GetRawText());
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
            Assert.True(await records.SetKeyAsync(ClusterBackplane.SessionKey(id), Encoding.UTF8.GetBytes(NodeId(b)), Lasting, onlyIfAbsent: false).WithTimeout());
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

    /// <summary>
    /// A client whose TCP connection to node A drops comes back on node B: B takes the session over from A, with the
    /// frames the client missed, and calls made through node C (to the id A minted) follow it there.
    /// </summary>
    [Fact]
    public async Task A_session_resumes_on_another_node_with_every_frame_once_and_calls_through_a_third_follow_it()
    {
        (string, string?)[] resume = [("Gateway:Connections:ResumeWindow", "00:00:30"), ("Gateway:Connections:ResumeSigningKeys:0", "resume-signing-key-shared-by-every-node-0123")];
        var a = await NodeAsync(resume);
        var b = await NodeAsync(resume);
        var c = await NodeAsync(resume);
        var first = await a.ConnectRawAsync("/", receiveBufferSize: 4096);
        var connected = System.Text.Json.JsonDocument.Parse((await first.ReadFrameAsync()).Payload).RootElement;
        var id = connected.GetProperty("connectionId").GetString()!;
        var token = connected.GetProperty("resumeToken").GetString()!;
        await first.SendTextAsync("""{"action":"subscribe","channel":"events.moving"}""");
        Assert.Contains("subscribed", Encoding.UTF8.GetString((await first.ReadFrameAsync()).Payload), StringComparison.Ordinal);
        long received = 1;
        var log = new BurstLog();
        var pushes = log.Pushes;
        var events = log.Events;
        void Take(RawFrame frame) => log.Take(frame);

        async Task BurstAsync(int from, int to)
        {
            for (var n = from; n <= to; n++)
            {
                Assert.Equal(SendResult.Sent, await c.Sender.SendAsync(id, Text($"p{n}")).AsTask().WithTimeout());
                await PublishAsync(c, "events.moving", n);
            }
        }

        await BurstAsync(1, 20);
        while (pushes.Count + events.Count < 10)
        {
            Take(await first.ReadFrameAsync());
            received++;
        }

        // The TCP connection drops with frames in flight; more come while the session waits on node A.
        await first.DisposeAsync();
        await Wait.UntilAsync(() => a.Registry.TryGet(id, out var s) && s.IsWaiting, "the session waits on node A");
        await BurstAsync(21, 40);

        // The client comes back through node B, while node C goes on sending.
        var more = BurstAsync(41, 80);
        await using var back = await b.ConnectRawAsync($"/?resume={Uri.EscapeDataString(token)}&received={received}", receiveBufferSize: 4096);
        var resumed = System.Text.Json.JsonDocument.Parse((await back.ReadFrameAsync()).Payload).RootElement;
        Assert.Equal("resumed", resumed.GetProperty("type").GetString());
        Assert.Equal(id, resumed.GetProperty("connectionId").GetString());
        await more;
        while (pushes.Count < 80 || events.Count < 80)
        {
            Take(await back.ReadFrameAsync());
        }

        Assert.Equal(Enumerable.Range(1, 80), pushes);
        Assert.Equal(Enumerable.Range(1, 80), events);
        Assert.False(a.Registry.TryGet(id, out _));
        Assert.True(b.Registry.TryGet(id, out _));

        // Calls follow it, from any node: node A sends them on, node C learns where it is.
        Assert.Equal(SendResult.Sent, await a.Sender.SendAsync(id, Text("p81")).AsTask().WithTimeout());
        Take(await back.ReadFrameAsync());
        Assert.Equal(81, pushes[^1]);
        Assert.NotNull(await c.Sender.GetConnectionAsync(id).AsTask().WithTimeout());

        // A new token names node B; no $disconnect ran anywhere, and a DELETE through node C ends it once, on node B.
        Assert.NotEqual(token, resumed.GetProperty("resumeToken").GetString());
        Assert.DoesNotContain(a.Services.GetRequiredService<EventRecorder>().All, e => e.ConnectionId == id);
        Assert.True(await c.Sender.DisconnectAsync(id).AsTask().WithTimeout());
        Assert.Equal(1000, (await back.ReadUntilCloseAsync()).CloseStatus);
        await back.SendFrameAsync(8, [0x03, 0xE8]);
        await b.Services.GetRequiredService<EventRecorder>().DisconnectOf(id);
        Assert.DoesNotContain(a.Services.GetRequiredService<EventRecorder>().All, e => e.ConnectionId == id);
        Assert.Single(b.Services.GetRequiredService<EventRecorder>().All, e => e.ConnectionId == id);
    }

}
