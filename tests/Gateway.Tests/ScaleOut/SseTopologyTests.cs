using System.Net;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// The event stream as it runs behind a load balancer without affinity: three gateway processes on one redis-server
/// behind haproxy (round robin). The stream is held by one node; the client's posts land on all three and are applied in
/// order; after a drop, the reconnect with <c>Last-Event-ID</c> lands through haproxy on another node and resumes there.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class SseTopologyTests
{
    [Fact]
    public async Task Posts_round_robined_over_three_nodes_arrive_in_order_and_a_reconnect_resumes_on_another_node()
    {
        await using var topology = await RedisTopology.StartAsync(3, new Dictionary<string, string>
        {
            ["Gateway__Connections__ResumeWindow"] = "00:00:30",
            ["Gateway__Connections__ResumeSigningKeys__0"] = "resume-signing-key-for-every-node-0123456789",
            ["Gateway__Routes___default__Handler"] = "echo",
        });
        var nodes = topology.Nodes;
        var haproxy = topology.Haproxy;
        var front = new Uri($"http://127.0.0.1:{haproxy.ClientPort}");
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{haproxy.ManagementPort}") };
        using var direct = new HttpClient();

        async Task<int> HolderAsync(string id)
        {
            for (var i = 0; i < nodes.Count; i++)
            {
                var own = JsonDocument.Parse(await direct.GetStringAsync(new Uri(nodes[i].Management, "@connections?scope=node"))).RootElement;
                if (own.GetProperty("items").EnumerateArray().Any(item => item.GetProperty("connectionId").GetString() == id))
                {
                    return i;
                }
            }

            return -1;
        }

        var client = await SseClient.OpenAsync(front);
        var id = client.Id;
        var holder = await HolderAsync(id);
        Assert.NotEqual(-1, holder);

        // Each post is its own request to haproxy, which sends it to the next node: two of three are taken by a node
        // that does not hold the stream and handed over the backplane.
        var sent = 0;
        async Task PostAndEchoAsync(SseClient through, int count)
        {
            for (var end = sent + count; sent < end;)
            {
                sent++;
                Assert.Equal(HttpStatusCode.Accepted, (await through.SendAsync($"m{sent}")).StatusCode);
                Assert.Equal($"m{sent}", await through.ReceiveTextAsync());
            }
        }

        await PostAndEchoAsync(client, 12);
        var forwarded = 0;
        for (var i = 0; i < nodes.Count; i++)
        {
            var metrics = await direct.GetStringAsync(new Uri(nodes[i].Management, "metrics"));
            forwarded += metrics.Split('\n').Any(l => l.StartsWith("gateway_backplane_duration", StringComparison.Ordinal) && l.Contains("operation=\"SsePost\"", StringComparison.Ordinal)) ? 1 : 0;
        }

        Assert.Equal(2, forwarded);

        // Drops, each with a push the client misses; reconnects through haproxy until one lands on another node.
        var moved = false;
        for (var attempt = 0; attempt < 3 && !moved; attempt++)
        {
            var lastId = client.LastEventId!;
            await client.DropAsync();
            Assert.Equal(HttpStatusCode.OK, (await management.PostAsync(new Uri($"/@connections/{id}", UriKind.Relative), new StringContent($"missed {attempt}"))).StatusCode);
            var back = await SseClient.OpenAsync(front, "/sse", r => r.Headers.Add("Last-Event-ID", lastId), expectConnected: false);
            var resumed = (await back.NextAsync()).Json;
            Assert.Equal("resumed", resumed.GetProperty("type").GetString());
            Assert.Equal(id, resumed.GetProperty("connectionId").GetString());
            Assert.Equal($"missed {attempt}", await back.ReceiveTextAsync());
            back.ContinueFrom(client);
            await client.DisposeAsync();
            client = back;
            var now = await HolderAsync(id);
            moved = now != holder;
            holder = now;
            await PostAndEchoAsync(client, 6);
        }

        Assert.True(moved, "no reconnect landed on another node");
        Assert.Equal(HttpStatusCode.NoContent, (await client.CloseAsync()).StatusCode);
        Assert.Equal("close", (await client.NextAsync()).Type);
        await client.DisposeAsync();
    }
}
