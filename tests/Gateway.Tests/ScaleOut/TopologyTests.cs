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
    public async Task Three_nodes_behind_haproxy_serve_every_push_and_publish_from_any_node_and_one_can_leave()
    {
        await using var redis = await RedisServer.StartAsync();
        var processes = Enumerable.Range(0, 3).Select(_ => ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Redis__Configuration"] = redis.Configuration,
            ["Gateway__Routes___default__Handler"] = "echo",
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

            // One node leaves (SIGTERM): its clients are closed with 1001, the others carry on, its ids answer 410.
            using var direct = new HttpClient();
            var list = System.Text.Json.JsonDocument.Parse(await direct.GetStringAsync(new Uri(nodes[0].Management, "@connections"))).RootElement;
            var leavingNode = list.GetProperty("items")[0].GetProperty("connectionId").GetString()![..8];
            var gone = clients.Where(c => c.Id[..8] == leavingNode).ToList();
            Assert.Equal(0, await processes[0].StopAsync());
            foreach (var client in gone)
            {
                Assert.Equal(1001, (await client.Closed.WithTimeout()).CloseStatus);
            }

            foreach (var client in clients.Except(gone))
            {
                await client.SendTextAsync("still here");
                Assert.Equal("still here", await client.ReceiveTextAsync());
                Assert.Equal(HttpStatusCode.OK, (await management.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("ok"))).StatusCode);
                Assert.Equal("ok", await client.ReceiveTextAsync());
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
}
