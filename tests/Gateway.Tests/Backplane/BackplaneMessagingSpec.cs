using System.Net;
using System.Text;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Management;
using Gateway.Tests.Topics;

namespace Gateway.Tests.Backplane;

/// <summary>
/// The cross-node calls that ride only on the engine's messages (no history, no keys, no liveness of their own): a
/// store whose messages this suite covers on one server needs no second run of these on its clustered form.
/// </summary>
public abstract class BackplaneMessagingSpec : BackplaneSpec
{
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
    public async Task An_event_stream_clients_posts_to_another_node_reach_its_stream_in_order_with_that_nodes_answers()
    {
        // The send URL's key is checked by whichever node takes the post: with the signing keys every node shares.
        (string, string?)[] shared = [("Gateway:Connections:ResumeSigningKeys:0", "a-resume-signing-key-shared-by-every-node"), ("Gateway:Routes:$default:Handler", "echo")];
        var a = await NodeAsync(shared);
        var b = await NodeAsync(shared);
        await using var client = await SseClient.OpenAsync(new Uri($"http://127.0.0.1:{a.ClientEndPoint.Port}"));
        using var viaB = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{b.ClientEndPoint.Port}") };
        Task<HttpResponseMessage> PostAsync(long seq, HttpContent content) => viaB.PostAsync($"{client.SendUrl}&seq={seq}", content).WithTimeout();

        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(1, new StringContent("one"))).StatusCode);
        Assert.Equal("one", await client.ReceiveTextAsync());
        var again = await PostAsync(1, new StringContent("one"));
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal("true", again.Headers.GetValues("Gateway-Duplicate").Single());
        var ahead = await PostAsync(3, new StringContent("three"));
        Assert.Equal(HttpStatusCode.Conflict, ahead.StatusCode);
        Assert.Contains("\"expectedSeq\":2", await ahead.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var binary = new ByteArrayContent([1, 2, 3]);
        binary.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(2, binary)).StatusCode);
        Assert.Equal("AQID", (await client.NextAsync()).Data);

        // The client's close, taken by node B, ends the stream on node A; later posts find it gone.
        Assert.Equal(HttpStatusCode.NoContent, (await viaB.DeleteAsync(client.SendUrl).WithTimeout()).StatusCode);
        Assert.Equal("close", (await client.NextAsync()).Type);
        Assert.Equal(CloseCodes.Normal, (await a.Events.DisconnectOf(client.Id)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await PostAsync(3, new StringContent("late"))).StatusCode);
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
        await silent.RenewLivenessAsync(Silent, ClusterBackplane.ReadsBatches, Lasting).WithTimeout();
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
        Task AliveAsync() => silent.RenewLivenessAsync(Silent, ClusterBackplane.ReadsBatches, Lasting).WithTimeout();
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

        // Each node tells its own changes on its own channel, and those of two nodes are not ordered with each other (on
        // Redis Cluster they go through different shards): the second node leaves once both know the first one has.
        await Wait.UntilAsync(() => Cluster(a).Occupancy.Count("room.9") == 1 && Cluster(b).Occupancy.Count("room.9") == 1, "both nodes know the first node left the topic");
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
}
