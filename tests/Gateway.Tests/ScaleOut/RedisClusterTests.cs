using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;

namespace Gateway.Tests.ScaleOut;

/// <summary>The same scale-out against a three-shard Redis Cluster started on loopback.</summary>
[Collection(SerialProcesses.Name)]
public sealed class RedisClusterTests
{
    private static async Task<GatewayHost> NodeAsync(RedisCluster cluster)
    {
        var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Redis:Configuration"] = cluster.Configuration,
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        });
        await Wait.UntilAsync(() => host.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node announced itself on the cluster", TimeSpan.FromSeconds(20));
        return host;
    }

    [Fact]
    public async Task Pushes_topics_history_and_broadcasts_work_across_nodes_on_a_three_shard_cluster()
    {
        await using var cluster = await RedisCluster.StartAsync();
        await using var a = await NodeAsync(cluster);
        await using var b = await NodeAsync(cluster);
        await using var c = await NodeAsync(cluster);
        var clients = new[] { await a.ConnectAsync(), await b.ConnectAsync(), await c.ConnectAsync() };
        try
        {
            using var viaC = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{c.ManagementEndPoint.Port}") };
            foreach (var client in clients)
            {
                Assert.Equal(HttpStatusCode.OK, (await viaC.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("direct"))).StatusCode);
                Assert.Equal("direct", await client.ReceiveTextAsync());
                foreach (var channel in new[] { "events.shard", "bus.news" })
                {
                    await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
                    Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
                }
            }

            for (var n = 1; n <= 3; n++)
            {
                await TopicTests.PostAsync(n == 2 ? b : a, "/@topics/events.shard", $$"""{"type":"tick","data":{{n}}}""");
            }

            foreach (var client in clients)
            {
                for (var n = 1; n <= 3; n++)
                {
                    Assert.Equal(n, (await TopicTests.NextJsonAsync(client)).GetProperty("offset").GetInt64());
                }
            }

            await TopicTests.PostAsync(b, "/@broadcast", "all", "text/plain");
            foreach (var client in clients)
            {
                Assert.Equal("all", await client.ReceiveTextAsync());
            }

            // A service publishing into the cluster's event bus reaches every node.
            await RedisCluster.CliAsync(["-c", "-p", cluster.Ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture), "PUBLISH", "gw:events:bus.news", """{"type":"x","data":5}"""]);
            foreach (var client in clients)
            {
                Assert.Equal("""{"type":"x","channel":"bus.news","data":5}""", await client.ReceiveTextAsync());
            }

            // A node that leaves: its connection answers 410 from the others.
            var leaving = clients[0].Id;
            await a.DisposeAsync();
            Assert.Equal(HttpStatusCode.Gone, (await viaC.PostAsync(new Uri($"/@connections/{leaving}", UriKind.Relative), new StringContent("x"))).StatusCode);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
