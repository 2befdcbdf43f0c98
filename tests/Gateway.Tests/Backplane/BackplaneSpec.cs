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
/// A subclass names the store; an adapter that passes this suite is an adapter. A topic's offsets increase and are
/// not consecutive on every engine: the suite asserts + 1 only where the engine says its offsets are consecutive.
/// </summary>
public abstract class BackplaneSpec : IAsyncLifetime
{
    /// <summary>How long a silent node keeps its liveness record in these tests: longer than any test.</summary>
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(1);

    private static readonly string[] ExcludedSends = [.. new[] { "all", "alice", """{"type":"t","channel":"news.today","data":1}""", """{"type":"t","channel":"bus.today","data":2}""" }.Order(StringComparer.Ordinal)];

    private static readonly string[] OnceAndPushed = ["once", "pushed"];

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
    public async Task A_server_side_subscribe_made_on_another_node_reaches_the_connection_and_its_publishes()
    {
        var a = await NodeAsync(("Gateway:Topics:MaxSubscriptionsPerConnection", "2"));
        var b = await NodeAsync();
        await using var client = await a.ConnectAsync();

        var put = await Management.SubscriptionsApiTests.CallAsync(b, HttpMethod.Put, $"/@connections/{client.Id}/topics/news.sport");
        Assert.Equal(System.Net.HttpStatusCode.NoContent, put.Status);
        Assert.Equal("""{"type":"subscribed","channel":"news.sport","by":"server"}""", await client.ReceiveTextAsync());
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await Management.SubscriptionsApiTests.CallAsync(b, HttpMethod.Put, $"/@connections/{client.Id}/topics/news.sport")).Status);
        await TopicTests.PostAsync(b, "/@topics/news.sport", """{"type":"goal","data":1}""");
        Assert.Equal("""{"type":"goal","channel":"news.sport","data":1}""", await client.ReceiveTextAsync());

        // A topic with a shared history: the owning node reads it before it subscribes, and answers with its position.
        await TopicTests.PostAsync(b, "/@topics/events.cross", """{"type":"x","data":1}""");
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await Management.SubscriptionsApiTests.CallAsync(b, HttpMethod.Put, $"/@connections/{client.Id}/topics/events.cross")).Status);
        var subscribed = await TopicTests.NextJsonAsync(client);
        Assert.Equal("events.cross", subscribed.GetProperty("channel").GetString());
        Assert.Equal("server", subscribed.GetProperty("by").GetString());
        Assert.False(string.IsNullOrEmpty(subscribed.GetProperty("epoch").GetString()));
        var offset = subscribed.GetProperty("offset").GetInt64();
        await TopicTests.PostAsync(b, "/@topics/events.cross", """{"type":"x","data":2}""");
        var live = await TopicTests.NextJsonAsync(client);
        Assert.Equal(2, live.GetProperty("data").GetInt32());
        Assert.True(live.GetProperty("offset").GetInt64() > offset);

        // The limit is the owning node's, and its answer comes back through the backplane.
        var over = await Management.SubscriptionsApiTests.CallAsync(b, HttpMethod.Put, $"/@connections/{client.Id}/topics/news.other");
        Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, over.Status);
        Assert.Equal("LimitExceededException", over.ErrorType);

        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await Management.SubscriptionsApiTests.CallAsync(b, HttpMethod.Delete, $"/@connections/{client.Id}/topics/news.sport")).Status);
        Assert.Equal("""{"type":"unsubscribed","channel":"news.sport","by":"server"}""", await client.ReceiveTextAsync());
        await AssertNothingMoreAsync(client);

        var id = client.Id;
        await client.CloseAsync();
        await Wait.UntilAsync(() => a.Registry.Count == 0, "the client left node A");
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Delete })
        {
            var gone = await Management.SubscriptionsApiTests.CallAsync(b, method, $"/@connections/{id}/topics/news.sport");
            Assert.Equal(System.Net.HttpStatusCode.Gone, gone.Status);
            Assert.Equal("GoneException", gone.ErrorType);
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
    public async Task Exclude_skips_a_connection_on_another_node_for_broadcasts_user_sends_and_publishes()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var now = DateTimeOffset.UtcNow;
        await using var onA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var excluded = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var onB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await Management.ManagementCalls.SubscribeAsync("news.today", onA, excluded, onB);

        // On NATS, bus.> is on the event bus: the gateway's publish goes there, its exclusion in a header.
        await Management.ManagementCalls.SubscribeAsync("bus.today", onA, excluded, onB);

        Assert.Equal(HttpStatusCode.OK, (await Management.ManagementCalls.PostAsync(a, $"/@broadcast?exclude={excluded.Id}", "all", contentType: "text/plain")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Management.ManagementCalls.PostAsync(a, $"/@users/alice?exclude={excluded.Id}", "alice", contentType: "text/plain")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Management.ManagementCalls.PostAsync(a, $"/@topics/news.today?exclude={excluded.Id}", """{"type":"t","data":1}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Management.ManagementCalls.PostAsync(b, $"/@topics/bus.today?exclude={excluded.Id}", """{"type":"t","data":2}""")).Status);
        // Each arrives once; the paths (the all-nodes channel, the event bus) do not order them among each other.
        foreach (var client in new[] { onA, onB })
        {
            var received = new List<string>();
            for (var i = 0; i < 4; i++)
            {
                received.Add(await client.ReceiveTextAsync());
            }

            Assert.Equal(ExcludedSends, received.Order(StringComparer.Ordinal));
        }

        await AssertNothingMoreAsync(onA, excluded, onB);
    }

    [Fact]
    public async Task A_batch_reaches_connections_on_another_node_in_item_order_and_a_gone_one_fails_alone()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        var gone = onA.Id[..^1] + (onA.Id[^1] == 'A' ? 'B' : 'A');
        var items = string.Join(',', Enumerable.Range(0, 50).Select(i => $$"""{"connectionId":"{{(i % 2 == 0 ? onA.Id : onB.Id)}}","body":"{{i}}"}"""));

        var answer = await Management.ManagementCalls.PostAsync(b, "/@batch", $$"""{"items":[{{items}},{"connectionId":"{{gone}}","body":"lost"}]}""");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var results = answer.Json.GetProperty("results");
        Assert.Equal(51, results.GetArrayLength());
        Assert.All(Enumerable.Range(0, 50), i => Assert.Equal(200, results[i].GetProperty("status").GetInt32()));
        Assert.Equal(410, results[50].GetProperty("status").GetInt32());
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await (i % 2 == 0 ? onA : onB).ReceiveTextAsync());
        }

        await AssertNothingMoreAsync(onA, onB);
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

    /// <summary>
    /// Offsets of a topic increase, and are not consecutive on every engine (a JetStream stream numbers many topics with
    /// one sequence): clients may not assume + 1. An engine that says its offsets are consecutive must give them so,
    /// since a jump then means events were missed.
    /// </summary>
    private static long AssertFollows(GatewayHost node, long previous, System.Text.Json.JsonElement e)
    {
        var offset = e.GetProperty("offset").GetInt64();
        Assert.True(offset > previous, $"offset {offset} after {previous}");
        if (Cluster(node).ConsecutiveOffsets)
        {
            Assert.Equal(previous + 1, offset);
        }

        return offset;
    }

    private static async Task PublishAsync(GatewayHost via, string topic, int n) =>
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
    public async Task A_users_connections_on_both_nodes_are_listed_from_either_node_and_closed_on_both()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var now = DateTimeOffset.UtcNow;
        await using var aliceOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var aliceOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var bobOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");

        foreach (var asked in new[] { a, b })
        {
            var (status, body) = await ClusterQueriesApiTests.GetAsync(asked, "/@users/alice");
            Assert.Equal(System.Net.HttpStatusCode.OK, status);
            Assert.Equal(2, body.GetProperty("count").GetInt32());
            Assert.True(body.GetProperty("complete").GetBoolean());
            var items = body.GetProperty("items").EnumerateArray().ToDictionary(i => i.GetProperty("connectionId").GetString()!, i => i.GetProperty("node").GetString());
            Assert.Equal(NodeId(a), items[aliceOnA.Id]);
            Assert.Equal(NodeId(b), items[aliceOnB.Id]);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await ClusterQueriesApiTests.HeadAsync(asked, "/@users/alice")).Status);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await ClusterQueriesApiTests.HeadAsync(asked, "/@users/carol")).Status);
        }

        var (deleted, closed) = await ClusterQueriesApiTests.SendAsync(b, HttpMethod.Delete, "/@users/alice?code=4002&reason=banned");
        Assert.Equal(System.Net.HttpStatusCode.OK, deleted);
        Assert.Equal(2, closed.GetProperty("closed").GetInt32());
        Assert.True(closed.GetProperty("complete").GetBoolean());
        foreach (var (client, node) in new[] { (aliceOnA, a), (aliceOnB, b) })
        {
            var frame = await client.Closed.WithTimeout();
            Assert.Equal(4002, frame.CloseStatus);
            Assert.Equal("banned", frame.CloseReason);
            Assert.Equal(4002, (await node.Events.DisconnectOf(client.Id)).StatusCode);
        }

        Assert.Equal(0, (await ClusterQueriesApiTests.GetAsync(a, "/@users/alice")).Body.GetProperty("count").GetInt32());
        await AssertNothingMoreAsync(bobOnA);
    }

    [Fact]
    public async Task The_connection_list_pages_across_both_nodes_giving_every_id_exactly_once()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var clients = new List<TestClient>();
        for (var i = 0; i < 7; i++)
        {
            clients.Add(await (i % 2 == 0 ? a : b).ConnectAsync());
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var (status, body) = await ClusterQueriesApiTests.GetAsync(b, "/@connections?limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.Equal(System.Net.HttpStatusCode.OK, status);
            Assert.Equal(7, body.GetProperty("count").GetInt32());
            Assert.True(body.GetProperty("complete").GetBoolean());
            foreach (var item in body.GetProperty("items").EnumerateArray())
            {
                var id = item.GetProperty("connectionId").GetString()!;
                Assert.Equal(id[..ConnectionId.NodeIdLength], item.GetProperty("node").GetString());
                seen.Add(id);
            }

            cursor = body.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(clients.Select(c => c.Id).Order(StringComparer.Ordinal), seen);
        Assert.Equal(3, (await ClusterQueriesApiTests.GetAsync(b, "/@connections?scope=node")).Body.GetProperty("count").GetInt32());
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_topics_subscribers_are_counted_and_listed_on_both_nodes()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        await using var wildOnB = await b.ConnectAsync();
        await ClusterQueriesApiTests.SubscribeAsync(onA, "room.a");
        await ClusterQueriesApiTests.SubscribeAsync(onB, "room.a");
        await ClusterQueriesApiTests.SubscribeAsync(wildOnB, "room.*");

        foreach (var asked in new[] { a, b })
        {
            var (status, topic) = await ClusterQueriesApiTests.GetAsync(asked, "/@topics/room.a");
            Assert.Equal(System.Net.HttpStatusCode.OK, status);
            Assert.Equal(3, topic.GetProperty("subscribers").GetInt32());
            Assert.True(topic.GetProperty("complete").GetBoolean());
            Assert.Equal(System.Net.HttpStatusCode.OK, (await ClusterQueriesApiTests.HeadAsync(asked, "/@topics/room.b")).Status);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await ClusterQueriesApiTests.HeadAsync(asked, "/@topics/hall")).Status);
            var (_, list) = await ClusterQueriesApiTests.GetAsync(asked, "/@topics?prefix=room.");
            Assert.Equal(["room.*", "room.a"], list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()));
            Assert.Equal([1, 2], list.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("subscribers").GetInt32()));
        }

        // Paged one at a time, a pattern held on both nodes is listed once with both counts.
        var (_, first) = await ClusterQueriesApiTests.GetAsync(a, "/@topics?limit=1&prefix=room.");
        var (_, second) = await ClusterQueriesApiTests.GetAsync(a, "/@topics?limit=1&prefix=room.&cursor=" + first.GetProperty("nextCursor").GetString());
        Assert.Equal("room.a", second.GetProperty("items")[0].GetProperty("channel").GetString());
        Assert.Equal(2, second.GetProperty("items")[0].GetProperty("subscribers").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task A_node_that_does_not_answer_makes_the_management_answers_incomplete_and_is_named()
    {
        var a = await NodeAsync();
        var b = await NodeAsync();
        var now = DateTimeOffset.UtcNow;
        await using var aliceOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var aliceOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await ClusterQueriesApiTests.SubscribeAsync(aliceOnB, "room.a");

        const string Silent = "MUTENODE";
        var silent = await BareNodeAsync(Silent);

        // A hung node that still renews its liveness (a store may keep a record no longer than its own TTL).
        Task AliveAsync() => silent.RenewLivenessAsync(Silent, ClusterBackplane.ReadsBatches, Long).WithTimeout();
        await AliveAsync();

        // The four reads at once: each waits out the request timeout for the silent node.
        var started = System.Diagnostics.Stopwatch.StartNew();
        var reads = await Task.WhenAll(
            ClusterQueriesApiTests.GetAsync(a, "/@connections"),
            ClusterQueriesApiTests.GetAsync(a, "/@users/alice"),
            ClusterQueriesApiTests.GetAsync(a, "/@topics/room.a"),
            ClusterQueriesApiTests.GetAsync(a, "/@topics"));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"the answers took {started.Elapsed}");
        var (status, connections) = reads[0];
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        Assert.False(connections.GetProperty("complete").GetBoolean());
        Assert.Equal([Silent], connections.GetProperty("missingNodes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(new[] { aliceOnA.Id, aliceOnB.Id }.Order(StringComparer.Ordinal), connections.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("connectionId").GetString()));

        var user = reads[1].Body;
        Assert.Equal(2, user.GetProperty("count").GetInt32());
        Assert.False(user.GetProperty("complete").GetBoolean());
        Assert.Equal([Silent], user.GetProperty("missingNodes").EnumerateArray().Select(n => n.GetString()));

        var topic = reads[2].Body;
        Assert.Equal(1, topic.GetProperty("subscribers").GetInt32());
        Assert.False(topic.GetProperty("complete").GetBoolean());
        Assert.Equal([Silent], topic.GetProperty("missingNodes").EnumerateArray().Select(n => n.GetString()));

        var topics = reads[3].Body;
        Assert.False(topics.GetProperty("complete").GetBoolean());
        Assert.Equal([Silent], topics.GetProperty("missingNodes").EnumerateArray().Select(n => n.GetString()));

        await AliveAsync();
        var (_, closed) = await ClusterQueriesApiTests.SendAsync(a, HttpMethod.Delete, "/@users/alice");
        Assert.Equal(2, closed.GetProperty("closed").GetInt32());
        Assert.False(closed.GetProperty("complete").GetBoolean());
        Assert.Equal([Silent], closed.GetProperty("missingNodes").EnumerateArray().Select(n => n.GetString()));

        // Each answer without every node is counted.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{a.ManagementEndPoint.Port}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gateway_cluster_queries_incomplete_total{", StringComparison.Ordinal));
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
    public async Task Webhooks_hear_of_occupied_join_leave_and_vacated_once_from_one_node_signed()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        (string, string?)[] settings =
        [
            ("Gateway:Topics:Presence:0:Pattern", "room.*"),
            ("Gateway:Topics:Webhooks:0:Pattern", "room.*"),
            ("Gateway:Topics:Webhooks:0:Uri", backend.Url("/hooks").ToString()),
            ("Gateway:Topics:Webhooks:0:Secret", "hook-secret"),
            ("Gateway:Topics:Webhooks:0:Events:0", "occupied"),
            ("Gateway:Topics:Webhooks:0:Events:1", "vacated"),
            ("Gateway:Topics:Webhooks:0:Events:2", "join"),
            ("Gateway:Topics:Webhooks:0:Events:3", "leave"),
        ];
        var a = await NodeAsync(settings);
        var b = await NodeAsync(settings);
        await Wait.UntilAsync(() => Cluster(a).LeadsWebhooks != Cluster(b).LeadsWebhooks, "one node leads the webhooks");

        await using var onA = await a.ConnectAsync();
        await onA.SendTextAsync("""{"action":"subscribe","channel":"room.9"}""");
        await onA.ReceiveTextAsync();
        await Wait.UntilAsync(() => backend.Requests.Count == 2, "occupied and the join were posted");
        await using var onB = await b.ConnectAsync();
        await onB.SendTextAsync("""{"action":"subscribe","channel":"room.9"}""");
        await onB.ReceiveTextAsync();
        await Wait.UntilAsync(() => backend.Requests.Count == 3, "the second join was posted");
        await onA.CloseAsync();
        await Wait.UntilAsync(() => backend.Requests.Count == 4, "the first leave was posted");
        await onB.CloseAsync();
        await Wait.UntilAsync(() => backend.Requests.Count == 6, "the second leave and vacated were posted");
        await Task.Delay(500);

        var posted = backend.Requests.ToList();
        Assert.Equal(6, posted.Count);
        Assert.Equal(["occupied", "join", "join", "leave", "leave", "vacated"], posted.Select(p => p.Json.GetProperty("event").GetString()));
        Assert.All(posted, p => Assert.Equal("room.9", p.Json.GetProperty("channel").GetString()));
        Assert.Equal([onA.Id, onB.Id, onA.Id, onB.Id], posted.Where(p => p.Json.TryGetProperty("member", out _)).Select(p => p.Json.GetProperty("member").GetProperty("connectionId").GetString()));
        Assert.Equal([NodeId(a), NodeId(a), NodeId(b), NodeId(a), NodeId(b), NodeId(b)], posted.Select(p => p.Json.GetProperty("node").GetString()));
        foreach (var request in posted)
        {
            var timestamp = request.Headers["X-Gateway-Timestamp"].ToString();
            Assert.Equal("sha256=" + Gateway.Presence.TopicWebhooks.Sign("hook-secret", timestamp, request.Body), request.Headers["X-Gateway-Signature"].ToString());
        }
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
