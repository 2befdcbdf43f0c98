using System.Net;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// The docker-compose topology, with processes: one redis-server, three gateway processes and haproxy in front
/// (round robin, no sticky sessions), all on loopback.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class TopologyTests
{
    [Fact]
    public async Task Three_nodes_behind_haproxy_serve_every_call_from_any_node_through_a_Redis_restart_a_kill_and_a_shutdown()
    {
        await using var redis = await RedisServer.StartAsync();
        var processes = Enumerable.Range(0, 3).Select(_ => ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Redis__Configuration"] = redis.Configuration,
            ["Gateway__Routes___default__Handler"] = "echo",
            ["Gateway__Redis__HeartbeatInterval"] = "00:00:01",
            ["Gateway__Redis__NodeTtl"] = "00:00:03",
        })).ToList();
        try
        {
            var nodes = new List<(Uri Client, Uri Management)>();
            foreach (var process in processes)
            {
                nodes.Add(await process.WaitForListenersAsync());
            }

            await using var haproxy = await HaproxyProcess.StartAsync(nodes);
            var clients = new List<TestClient>();
            for (var i = 0; i < 12; i++)
            {
                clients.Add(await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{haproxy.ClientPort}/")));
            }

            // Round robin spreads the clients over all three nodes (the node is the id's first 8 characters).
            Assert.Equal(3, clients.Select(c => c.Id[..8]).Distinct().Count());

            using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{haproxy.ManagementPort}") };
            foreach (var client in clients)
            {
                await client.SendTextAsync("""{"action":"subscribe","channel":"news.all"}""");
                Assert.Contains("subscribed", await client.ReceiveTextAsync(), StringComparison.Ordinal);
                for (var round = 0; round < 3; round++)
                {
                    // Each round lands on another node: pushes are local or cross-node, and all arrive.
                    var response = await management.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent($"push {round}"));
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.Equal($"push {round}", await client.ReceiveTextAsync());
                }
            }

            var published = await management.PostAsync(new Uri("/@topics/news.all", UriKind.Relative), new StringContent("""{"type":"news","data":1}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, published.StatusCode);
            foreach (var client in clients)
            {
                Assert.Equal("""{"type":"news","channel":"news.all","data":1}""", await client.ReceiveTextAsync());
            }

            // Which node is which: each lists its own connections (scope=node; without it the list is every node's).
            using var direct = new HttpClient();
            var nodeIds = new List<string>();
            foreach (var node in nodes)
            {
                var own = System.Text.Json.JsonDocument.Parse(await direct.GetStringAsync(new Uri(node.Management, "@connections?scope=node"))).RootElement;
                nodeIds.Add(own.GetProperty("items")[0].GetProperty("connectionId").GetString()![..8]);
            }

            // GET and DELETE from any node.
            var described = await management.GetAsync(new Uri($"/@connections/{clients[0].Id}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, described.StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await management.DeleteAsync(new Uri($"/@connections/{clients[^1].Id}", UriKind.Relative))).StatusCode);
            Assert.Equal(1000, (await clients[^1].Closed.WithTimeout()).CloseStatus);
            await clients[^1].DisposeAsync();
            clients.RemoveAt(clients.Count - 1);

            // Redis restarted mid-run: each node still serves its own clients; cross-node calls answer 503; then all resumes by itself.
            await redis.StopAsync();
            foreach (var node in nodes)
            {
                await Wait.UntilAsync(async () => (await direct.GetAsync(new Uri(node.Management, "readyz"))).StatusCode == HttpStatusCode.ServiceUnavailable,
                    "every node reports the backplane down");
            }

            foreach (var client in clients)
            {
                var own = nodes[nodeIds.IndexOf(client.Id[..8])].Management;
                var other = nodes[(nodeIds.IndexOf(client.Id[..8]) + 1) % nodes.Count].Management;
                Assert.Equal(HttpStatusCode.OK, (await direct.PostAsync(new Uri(own, $"@connections/{client.Id}"), new StringContent("local"))).StatusCode);
                Assert.Equal("local", await client.ReceiveTextAsync());
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await direct.PostAsync(new Uri(other, $"@connections/{client.Id}"), new StringContent("x"))).StatusCode);
            }

            await redis.StartAgainAsync();
            foreach (var client in clients)
            {
                var other = nodes[(nodeIds.IndexOf(client.Id[..8]) + 1) % nodes.Count].Management;
                var attempt = 0;
                await Wait.UntilAsync(async () => (await direct.PostAsync(new Uri(other, $"@connections/{client.Id}"), new StringContent($"resumed {++attempt}"))).StatusCode == HttpStatusCode.OK,
                    "cross-node pushes resume once Redis is back", TimeSpan.FromSeconds(30));

                // While the nodes re-subscribe, an attempt can arrive whose answer was lost (it was told 503); the one
                // answered 200 arrives, after any such earlier ones.
                string received;
                do
                {
                    received = await client.ReceiveTextAsync();
                    Assert.StartsWith("resumed ", received, StringComparison.Ordinal);
                }
                while (received != $"resumed {attempt}");
            }

            // kill -9 of one node: its clients lose their sockets and reconnect through haproxy to the others; their
            // old ids answer 410; nobody else notices.
            var killedNode = nodeIds[1];
            var killed = clients.Where(c => c.Id[..8] == killedNode).ToList();
            await processes[1].KillAsync();
            foreach (var client in killed)
            {
                await client.Closed.WithTimeout();
                // As a real client does: try again until haproxy has taken the dead node out.
                var again = await ReconnectAsync(haproxy.ClientPort);
                Assert.NotEqual(killedNode, again.Id[..8]);
                await PostUntilOkAsync(management, again.Id, "welcome back");
                Assert.Equal("welcome back", await again.ReceiveTextAsync());
                await again.DisposeAsync();
                await Wait.UntilAsync(async () => (await management.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("x"))).StatusCode == HttpStatusCode.Gone,
                    "the killed node's connection answers 410");
            }

            foreach (var client in killed)
            {
                clients.Remove(client);
                await client.DisposeAsync();
            }

            foreach (var client in clients)
            {
                await client.SendTextAsync("unaffected");
                Assert.Equal("unaffected", await NextSkippingRetriesAsync(client));
            }

            // One node leaves (SIGTERM): its clients are closed with 1001, the others carry on, its ids answer 410.
            var leavingNode = nodeIds[0];
            var gone = clients.Where(c => c.Id[..8] == leavingNode).ToList();
            Assert.Equal(0, await processes[0].StopAsync());
            foreach (var client in gone)
            {
                Assert.Equal(1001, (await client.Closed.WithTimeout()).CloseStatus);
            }

            foreach (var client in clients.Except(gone))
            {
                await client.SendTextAsync("still here");
                Assert.Equal("still here", await NextSkippingRetriesAsync(client));
                await PostUntilOkAsync(management, client.Id, "ok");
                Assert.Equal("ok", await NextSkippingRetriesAsync(client));
            }

            await Wait.UntilAsync(async () => (await management.PostAsync(new Uri($"/@connections/{gone[0].Id}", UriKind.Relative), new StringContent("x"))).StatusCode == HttpStatusCode.Gone,
                "a push to the departed node's connection answers 410");

            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>The next frame, past any late copy of a "resumed" attempt made while Redis was coming back.</summary>
    private static async Task<string> NextSkippingRetriesAsync(TestClient client)
    {
        string text;
        do
        {
            text = await client.ReceiveTextAsync();
        }
        while (text.StartsWith("resumed ", StringComparison.Ordinal));
        return text;
    }

    private static async Task<TestClient> ReconnectAsync(int port)
    {
        TestClient? client = null;
        await Wait.UntilAsync(async () =>
        {
            try
            {
                client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"));
                return true;
            }
            catch (System.Net.WebSockets.WebSocketException)
            {
                return false;
            }
        }, "the client reconnected through haproxy");
        return client!;
    }

    /// <summary>
    /// Posts until answered 200, as a backend retries a 503: right after a node died, haproxy may still try it (and
    /// answer 503 without sending anything) until its health check has taken the node out.
    /// </summary>
    private static Task PostUntilOkAsync(HttpClient management, string id, string body) =>
        Wait.UntilAsync(async () => (await management.PostAsync(new Uri($"/@connections/{id}", UriKind.Relative), new StringContent(body))).StatusCode == HttpStatusCode.OK,
            "the push was accepted");
}
