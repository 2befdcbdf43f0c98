using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;

namespace Gateway.Tests.ScaleOut;

/// <summary>Two gateway nodes sharing a real redis-server on loopback: every management call works from either node.</summary>
[Collection(SerialProcesses.Name)]
public sealed class RedisBackplaneTests
{
    private static Task<GatewayHost> NodeAsync(RedisServer redis, params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["Gateway:Redis:Configuration"] = redis.Configuration };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return StartReadyAsync(settings);
    }

    private static async Task<GatewayHost> StartReadyAsync(Dictionary<string, string?> settings)
    {
        var host = await GatewayHost.StartAsync(settings);
        await Wait.UntilAsync(() => host.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node announced itself on Redis");
        return host;
    }

    private static HttpClient Management(GatewayHost host) => new() { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };

    [Fact]
    public async Task Push_describe_set_attributes_and_delete_work_from_any_node()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await NodeAsync(redis);
        await using var b = await NodeAsync(redis);
        await using var client = await a.ConnectAsync();
        using var viaB = Management(b);

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent($"push {i}"))).StatusCode);
        }

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"push {i}", await client.ReceiveTextAsync()); // in order
        }

        // Node B timed each of its calls to node A.
        var scrape = await viaB.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("gateway_backplane_duration_milliseconds_count{otel_scope_name=\"Gateway\",operation=\"Send\",outcome=\"answered\"} 20\n", scrape, StringComparison.Ordinal);

        var patch = new HttpRequestMessage(HttpMethod.Patch, new Uri($"/@connections/{client.Id}", UriKind.Relative)) { Content = new StringContent("""{"room":"lobby"}""", Encoding.UTF8, "application/json") };
        Assert.Equal(HttpStatusCode.NoContent, (await viaB.SendAsync(patch)).StatusCode);
        var info = JsonDocument.Parse(await viaB.GetStringAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative))).RootElement;
        Assert.Equal("127.0.0.1", info.GetProperty("identity").GetProperty("sourceIp").GetString());
        Assert.Equal("lobby", info.GetProperty("attributes").GetProperty("room").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await viaB.DeleteAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative))).StatusCode);
        Assert.Equal(1000, (await client.Closed.WithTimeout()).CloseStatus);
        await Wait.UntilAsync(() => a.Registry.Count == 0, "the deleted connection left node A");
        Assert.Equal(HttpStatusCode.Gone, (await viaB.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("x"))).StatusCode);
    }

    [Fact]
    public async Task Topics_users_and_broadcasts_reach_every_node_once()
    {
        await using var redis = await RedisServer.StartAsync();
        var jwt = ("Gateway:Auth:Jwt:SigningKeys:0", (string?)TestTokens.Secret);
        var optional = ("Gateway:Auth:Jwt:Required", (string?)"false");
        var open = ("Gateway:Topics:Authorization:AllowAll", (string?)"true");
        await using var a = await NodeAsync(redis, jwt, optional, open);
        await using var b = await NodeAsync(redis, jwt, optional, open);
        var now = a.Time.GetUtcNow();
        await using var onA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var onB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var bobOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");
        foreach (var client in new[] { onA, onB })
        {
            foreach (var channel in new[] { "events.org_1.>", "events.*.x" })
            {
                await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
                Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
            }
        }

        var (status, answer) = await TopicTests.PostAsync(a, "/@topics/events.org_1.x", """{"type":"t","data":1}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, answer.GetProperty("delivered").GetInt32()); // this node's
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal("""{"type":"t","channel":"events.org_1.x","data":1}""", await client.ReceiveTextAsync());
        }

        await TopicTests.PostAsync(b, "/@users/alice", "for alice", "text/plain");
        Assert.Equal("for alice", await onA.ReceiveTextAsync());
        Assert.Equal("for alice", await onB.ReceiveTextAsync());

        await TopicTests.PostAsync(b, "/@broadcast", "everyone", "text/plain");
        foreach (var client in new[] { onA, onB, bobOnB })
        {
            Assert.Equal("everyone", await client.ReceiveTextAsync());
        }

        // Nothing arrived twice: the next frame of each is a fresh ping answer.
        foreach (var client in new[] { onA, onB, bobOnB })
        {
            await client.SendTextAsync("""{"action":"ping"}""");
            Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
        }
    }

    [Fact]
    public async Task A_service_publishing_straight_into_Redis_reaches_the_subscribers_of_every_node()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await NodeAsync(redis);
        await using var b = await NodeAsync(redis);
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        foreach (var client in new[] { onA, onB })
        {
            await client.SendTextAsync("""{"action":"subscribe","channel":"conversation:conv-1"}""");
            await client.ReceiveTextAsync();
        }

        // What `redis-cli PUBLISH gw:events:conversation:conv-1 '{"type":…,"data":…}'` sends.
        Assert.Equal(":2", (await redis.CommandAsync("PUBLISH", "gw:events:conversation:conv-1", """{"type":"message_posted","data":{"text":"hi"}}""")).Trim());
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal("""{"type":"message_posted","channel":"conversation:conv-1","data":{"text":"hi"}}""", await client.ReceiveTextAsync());
        }

        // Malformed events are dropped (and logged); the subscribers carry on.
        await redis.CommandAsync("PUBLISH", "gw:events:conversation:conv-1", "not json");
        await redis.CommandAsync("PUBLISH", "gw:events:conversation:conv-1", """{"data":1}""");
        await redis.CommandAsync("PUBLISH", "gw:events:a.*", """{"type":"x"}""");
        await redis.CommandAsync("PUBLISH", "gw:events:conversation:conv-1", """{"type":"second"}""");
        Assert.Equal("""{"type":"second","channel":"conversation:conv-1","data":null}""", await onA.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_client_that_reconnects_to_another_node_recovers_exactly_what_it_missed()
    {
        await using var redis = await RedisServer.StartAsync();
        var history = new[] { ("Gateway:Topics:History:0:Pattern", (string?)"events.>"), ("Gateway:Topics:History:0:Size", (string?)"50") };
        await using var a = await NodeAsync(redis, history);
        await using var b = await NodeAsync(redis, history);
        await using var watcherOnB = await b.ConnectAsync();
        await watcherOnB.SendTextAsync("""{"action":"subscribe","channel":"events.room"}""");
        var epoch = (await TopicTests.NextJsonAsync(watcherOnB)).GetProperty("epoch").GetString()!;

        long seen;
        await using (var first = await a.ConnectAsync())
        {
            await first.SendTextAsync("""{"action":"subscribe","channel":"events.room"}""");
            var subscribed = await TopicTests.NextJsonAsync(first);
            Assert.Equal(epoch, subscribed.GetProperty("epoch").GetString()); // one epoch for every node
            for (var n = 1; n <= 3; n++)
            {
                await TopicTests.PostAsync(n % 2 == 0 ? a : b, "/@topics/events.room", $$"""{"type":"tick","data":{{n}}}""");
                Assert.Equal(n, (await TopicTests.NextJsonAsync(first)).GetProperty("offset").GetInt64());
            }

            seen = 3;
        }

        for (var n = 4; n <= 6; n++)
        {
            await TopicTests.PostAsync(n % 2 == 0 ? a : b, "/@topics/events.room", $$"""{"type":"tick","data":{{n}}}""");
        }

        // The watcher on B saw all six, numbered the same, in order.
        for (var n = 1; n <= 6; n++)
        {
            var e = await TopicTests.NextJsonAsync(watcherOnB);
            Assert.Equal(n, e.GetProperty("offset").GetInt64());
            Assert.Equal(n, e.GetProperty("data").GetInt32());
        }

        // The client comes back through another node and gets 4, 5, 6, then live events.
        await using var back = await b.ConnectAsync();
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"events.room","since":{"offset":{{{seen}}},"epoch":"{{{epoch}}}"}}""");
        var resumed = await TopicTests.NextJsonAsync(back);
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        for (var n = 4; n <= 6; n++)
        {
            Assert.Equal(n, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
        }

        await TopicTests.PostAsync(a, "/@topics/events.room", """{"type":"tick","data":7}""");
        Assert.Equal(7, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());

        // A node that starts later reads the shared history and serves recovery from it too.
        await using var c = await NodeAsync(redis, history);
        await using var late = await c.ConnectAsync();
        await late.SendTextAsync($$$"""{"action":"subscribe","channel":"events.room","since":{"offset":5,"epoch":"{{{epoch}}}"}}""");
        Assert.True((await TopicTests.NextJsonAsync(late)).GetProperty("recovered").GetBoolean());
        Assert.Equal(6, (await TopicTests.NextJsonAsync(late)).GetProperty("offset").GetInt64());
        Assert.Equal(7, (await TopicTests.NextJsonAsync(late)).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_connection_on_a_node_that_is_gone_answers_410()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var b = await NodeAsync(redis);
        string id;
        var a = await NodeAsync(redis);
        await using (var client = await a.ConnectAsync())
        {
            id = client.Id;
        }

        await a.DisposeAsync();
        using var viaB = Management(b);
        Assert.Equal(HttpStatusCode.Gone, (await viaB.PostAsync(new Uri($"/@connections/{id}", UriKind.Relative), new StringContent("x"))).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await viaB.GetAsync(new Uri($"/@connections/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal("0", (await redis.CommandAsync("EXISTS", $"gw:node:{id[..8]}:alive")).Trim().TrimStart(':'));
    }

    [Fact]
    public async Task A_node_that_listens_but_does_not_answer_gives_503_at_the_request_timeout_then_410_once_gone()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var b = await NodeAsync(redis, ("Gateway:Redis:RequestTimeout", "00:00:01"));

        // A "node" that subscribes to its channel and keeps its heartbeat, but never answers.
        const string Silent = "ZZZZZZZZ";
        await using var mute = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await mute.GetSubscriber().SubscribeAsync(StackExchange.Redis.RedisChannel.Sharded($"gw:node:{{{Silent}}}"), (_, _) => { });
        await mute.GetDatabase().StringSetAsync($"gw:node:{Silent}:alive", Silent);
        var id = Gateway.Connections.ConnectionId.Mint(Silent, 7);
        using var viaB = Management(b);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var pushes = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => viaB.PostAsync(new Uri($"/@connections/{id}", UriKind.Relative), new StringContent("x"))));
        Assert.All(pushes, p => Assert.Equal(HttpStatusCode.ServiceUnavailable, p.StatusCode));
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(0.9), $"answered after {started.Elapsed}, before the request timeout");

        // Its heartbeat gone, the same silence means the node is gone.
        await mute.GetDatabase().KeyDeleteAsync($"gw:node:{Silent}:alive");
        Assert.Equal(HttpStatusCode.Gone, (await viaB.PostAsync(new Uri($"/@connections/{id}", UriKind.Relative), new StringContent("x"))).StatusCode);
    }

    [Fact]
    public async Task A_node_of_an_earlier_version_gets_one_message_per_publish_and_nodes_of_this_one_announce_batches()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var b = await NodeAsync(redis, ("Gateway:Redis:RequestTimeout", "00:00:01"));
        var bId = b.Services.GetRequiredService<Gateway.Connections.GatewayNode>().Id;
        Assert.Equal("$9\r\nbatches/1", (await redis.CommandAsync("GET", $"gw:node:{bId}:alive")).Trim());

        // An earlier version's heartbeat holds its node id; it reads single messages only.
        const string Old = "OLDNODE1";
        await using var old = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var received = new ConcurrentQueue<byte[]>();
        await old.GetSubscriber().SubscribeAsync(StackExchange.Redis.RedisChannel.Sharded($"gw:node:{{{Old}}}"), (_, value) => received.Enqueue((byte[])value!));
        await old.GetDatabase().StringSetAsync($"gw:node:{Old}:alive", Old);
        var id = Gateway.Connections.ConnectionId.Mint(Old, 3);
        using var viaB = Management(b);
        for (var wave = 0; wave < 3; wave++)
        {
            await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => viaB.PostAsync(new Uri($"/@connections/{id}", UriKind.Relative), new StringContent("x"))));
        }

        await Wait.UntilAsync(() => received.Count == 300, "every push reached the old node");
        Assert.All(received, bytes => Assert.NotEqual(Gateway.Backplane.DirectedOutbox.BatchMarker, bytes[0]));
    }

    [Fact]
    public async Task A_node_killed_with_SIGKILL_turns_its_connections_into_410_once_its_heartbeat_lapses()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var b = await NodeAsync(redis);
        await using var killed = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Redis__Configuration"] = redis.Configuration,
            ["Gateway__Redis__HeartbeatInterval"] = "00:00:01",
            ["Gateway__Redis__NodeTtl"] = "00:00:03",
        });
        var (clientUri, _) = await killed.WaitForListenersAsync();
        await using var client = await TestClient.ConnectAsync(clientUri);
        using var viaB = Management(b);
        Assert.Equal(HttpStatusCode.OK, (await viaB.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("alive"))).StatusCode);
        Assert.Equal("alive", await client.ReceiveTextAsync());

        await killed.KillAsync();

        // Nobody receives the push any more: 503 while the node might only be reconnecting, 410 once its heartbeat lapsed.
        await Wait.UntilAsync(async () => (await viaB.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("x"))).StatusCode == HttpStatusCode.Gone,
            "a push to the dead node's connection answers 410", TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task With_Redis_down_local_traffic_goes_on_cross_node_calls_answer_503_and_the_node_reconnects_by_itself()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await NodeAsync(redis);
        await using var b = await NodeAsync(redis);
        await using var onA = await a.ConnectAsync();
        await using var onB = await b.ConnectAsync();
        using var viaA = Management(a);

        Assert.Equal(HttpStatusCode.OK, (await viaA.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        await redis.StopAsync();
        await Wait.UntilAsync(() => !a.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "node A noticed Redis is gone");
        using (var ready = await viaA.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("Backplane unavailable", await ready.Content.ReadAsStringAsync());
        }

        using (var local = await viaA.GetAsync(new Uri("/readyz?scope=local", UriKind.Relative)))
        {
            // A load balancer probing scope=local keeps the node: it serves its own clients through the outage.
            Assert.Equal(HttpStatusCode.OK, local.StatusCode);
            Assert.Equal("Ready (backplane unavailable)", await local.Content.ReadAsStringAsync());
        }

        Assert.Equal("Healthy", await viaA.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.Contains("gateway_backplane_available{otel_scope_name=\"Gateway\",engine=\"redis\"} 0\n", await viaA.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);

        // Its own client: served as before.
        Assert.Equal(HttpStatusCode.OK, (await viaA.PostAsync(new Uri($"/@connections/{onA.Id}", UriKind.Relative), new StringContent("local"))).StatusCode);
        Assert.Equal("local", await onA.ReceiveTextAsync());
        await onA.SendTextAsync("echo me");
        Assert.Equal("echo me", await onA.ReceiveTextAsync());

        // Another node's: fails fast with 503, and a broadcast says it reached only this node.
        var cross = await viaA.PostAsync(new Uri($"/@connections/{onB.Id}", UriKind.Relative), new StringContent("x"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, cross.StatusCode);
        Assert.Equal("ServiceUnavailableException", cross.Headers.GetValues("x-amzn-ErrorType").Single().Split(':')[0]);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await viaA.PostAsync(new Uri("/@broadcast", UriKind.Relative), new StringContent("all"))).StatusCode);
        Assert.Equal("all", await onA.ReceiveTextAsync());

        await redis.StartAgainAsync();
        foreach (var node in new[] { a, b })
        {
            await Wait.UntilAsync(() => node.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node reconnected and re-announced itself", TimeSpan.FromSeconds(30));
        }

        Assert.Equal(HttpStatusCode.OK, (await viaA.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Contains("gateway_backplane_available{otel_scope_name=\"Gateway\",engine=\"redis\"} 1\n", await viaA.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await viaA.PostAsync(new Uri($"/@connections/{onB.Id}", UriKind.Relative), new StringContent("back"))).StatusCode);
        Assert.Equal("back", await onB.ReceiveTextAsync());

        // Subscriptions were restored once, not added again: a broadcast arrives once at each client.
        Assert.Equal(HttpStatusCode.OK, (await viaA.PostAsync(new Uri("/@broadcast", UriKind.Relative), new StringContent("once"))).StatusCode);
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal("once", await client.ReceiveTextAsync());
            await client.SendTextAsync("""{"action":"ping"}""");
            Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
        }
    }
}
