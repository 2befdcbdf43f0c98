using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// Presence across three gateway processes on one redis-server, one of them killed (SIGKILL) mid-run: the survivors'
/// subscribers see each of its members leave once, after its liveness lapses, and no ghost stays in any listing.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class PresenceNodeDeathTests
{
    [Fact]
    public async Task A_killed_nodes_members_leave_once_on_every_other_node_and_no_ghost_stays()
    {
        await using var redis = await RedisServer.StartAsync();
        var processes = Enumerable.Range(0, 3).Select(_ => ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Redis__Configuration"] = redis.Configuration,
            ["Gateway__Redis__HeartbeatInterval"] = "00:00:00.500",
            ["Gateway__Redis__NodeTtl"] = "00:00:02",
            ["Gateway__Topics__Presence__0__Pattern"] = "room.*",
        })).ToList();
        var clients = new List<(TestClient Client, int Node)>();
        try
        {
            var nodes = new List<(Uri Client, Uri Management)>();
            foreach (var process in processes)
            {
                nodes.Add(await process.WaitForListenersAsync());
            }

            // Two members on each node, joined one after another; every member hears of every later one.
            for (var i = 0; i < 6; i++)
            {
                var client = await TestClient.ConnectAsync(new Uri(nodes[i % 3].Client, "/"));
                await client.SendTextAsync("""{"action":"subscribe","channel":"room.kill"}""");
                Assert.Equal("""{"type":"subscribed","channel":"room.kill"}""", await client.ReceiveTextAsync());
                clients.Add((client, i % 3));
                foreach (var (earlier, _) in clients.SkipLast(1))
                {
                    Assert.Equal(client.Id, Member(await earlier.ReceiveTextAsync(), "join"));
                }
            }

            using var http = new HttpClient();
            async Task<string[]> MembersAsync(int node) =>
                [.. JsonDocument.Parse(await http.GetStringAsync(new Uri(nodes[node].Management, "@topics/room.kill"))).RootElement
                    .GetProperty("members").EnumerateArray().Select(m => m.GetProperty("connectionId").GetString()!).Order(StringComparer.Ordinal)];
            Assert.Equal(clients.Select(c => c.Client.Id).Order(StringComparer.Ordinal), await MembersAsync(0));

            // kill -9: nothing is said; the others find out when its liveness record lapses.
            await processes[1].KillAsync();
            var dead = clients.Where(c => c.Node == 1).Select(c => c.Client.Id).Order(StringComparer.Ordinal).ToList();
            foreach (var (survivor, _) in clients.Where(c => c.Node != 1))
            {
                var left = new List<string> { Member(await survivor.ReceiveTextAsync(TimeSpan.FromSeconds(20)), "leave"), Member(await survivor.ReceiveTextAsync(TimeSpan.FromSeconds(20)), "leave") };
                Assert.Equal(dead, left.Order(StringComparer.Ordinal));
            }

            var alive = clients.Where(c => c.Node != 1).Select(c => c.Client.Id).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(alive, await MembersAsync(0));
            Assert.Equal(alive, await MembersAsync(2));

            // Nothing more: each survivor's next frame is its own pong.
            foreach (var (survivor, _) in clients.Where(c => c.Node != 1))
            {
                await survivor.SendTextAsync("""{"action":"ping"}""");
                Assert.Equal("""{"type":"pong"}""", await survivor.ReceiveTextAsync());
            }
        }
        finally
        {
            foreach (var (client, _) in clients)
            {
                await client.DisposeAsync();
            }

            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    private static string Member(string frame, string type)
    {
        var root = JsonDocument.Parse(frame).RootElement;
        Assert.True(root.GetProperty("type").GetString() == type, frame);
        return root.GetProperty("member").GetProperty("connectionId").GetString()!;
    }
}
