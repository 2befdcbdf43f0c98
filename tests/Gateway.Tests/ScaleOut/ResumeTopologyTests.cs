using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// Resumable sessions as users run them: two gateway processes on one redis-server behind haproxy (round robin, no
/// affinity). A client whose TCP connection drops mid-burst resumes through haproxy, on either node, and gets every
/// push and topic event once and in order; after the node holding its session is killed, its resume is refused and it
/// recovers its topic by offset.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class ResumeTopologyTests
{
    [Fact]
    public async Task Dropped_sessions_resume_through_haproxy_on_either_node_and_after_a_kill_recover_by_offset()
    {
        await using var topology = await RedisTopology.StartAsync(2, new Dictionary<string, string>
        {
            ["Gateway__Connections__ResumeWindow"] = "00:00:30",
            ["Gateway__Connections__ResumeSigningKeys__0"] = "resume-signing-key-for-both-nodes-0123456789",
            ["Gateway__Topics__Authorization__AllowAll"] = "true",
            ["Gateway__Topics__History__0__Pattern"] = "events.>",
        });
        var nodes = topology.Nodes;
        var haproxy = topology.Haproxy;
        var endPoint = new IPEndPoint(IPAddress.Loopback, haproxy.ClientPort);
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{haproxy.ManagementPort}") };

        var client = await RawClient.ConnectAsync(endPoint, "/", receiveBufferSize: 4096);
        var connected = Json(await client.ReadFrameAsync());
        var id = connected.GetProperty("connectionId").GetString()!;
        var token = connected.GetProperty("resumeToken").GetString()!;
        await client.SendTextAsync("""{"action":"subscribe","channel":"events.h"}""");
        var subscribed = Json(await client.ReadFrameAsync());
        var epoch = subscribed.GetProperty("epoch").GetString()!;
        long received = 1;
        var log = new BurstLog();
        var pushes = log.Pushes;
        var events = log.Events;
        void Take(RawFrame frame) => log.Take(frame);

        var next = 1;
        async Task BurstAsync(int count)
        {
            // Through haproxy: every call lands on one node or the other.
            for (var end = next + count; next < end; next++)
            {
                Assert.Equal(HttpStatusCode.OK, (await management.PostAsync(new Uri($"/@connections/{id}", UriKind.Relative), new StringContent($"p{next}"))).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await management.PostAsync(new Uri("/@topics/events.h", UriKind.Relative), new StringContent($$"""{"type":"tick","data":{{next}}}""", Encoding.UTF8, "application/json"))).StatusCode);
            }
        }

        // Two drops mid-burst, each resumed through haproxy (round robin: on the other node, or on the same one).
        for (var round = 0; round < 2; round++)
        {
            await BurstAsync(30);
            while (pushes.Count + events.Count < (next - 1) * 2 - 20)
            {
                Take(await client.ReadFrameAsync());
                received++;
            }

            await client.DisposeAsync();
            await BurstAsync(10);
            client = await RawClient.ConnectAsync(endPoint, $"/?resume={Uri.EscapeDataString(token)}&received={received}", receiveBufferSize: 4096);
            var resumed = Json(await client.ReadFrameAsync());
            Assert.Equal("resumed", resumed.GetProperty("type").GetString());
            Assert.Equal(id, resumed.GetProperty("connectionId").GetString());
            token = resumed.GetProperty("resumeToken").GetString()!;
            while (pushes.Count < next - 1 || events.Count < next - 1)
            {
                Take(await client.ReadFrameAsync());
                received++;
            }

            Assert.Equal(Enumerable.Range(1, next - 1), pushes);
            Assert.Equal(Enumerable.Range(1, next - 1), events);
        }

        // Round robin put at least one of the resumes on the node that did not hold the session.
        using var direct = new HttpClient();
        var metrics = string.Join('\n', await Task.WhenAll(nodes.Select(n => direct.GetStringAsync(new Uri(n.Management, "metrics")))));
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gateway_sessions_resumes_total{", StringComparison.Ordinal) && l.Contains("moved", StringComparison.Ordinal));

        // The node holding the session is killed: the resume is refused, and the client recovers its topic by offset.
        var holder = 0;
        for (var i = 0; i < nodes.Count; i++)
        {
            var own = JsonDocument.Parse(await direct.GetStringAsync(new Uri(nodes[i].Management, "@connections?scope=node"))).RootElement;
            if (own.GetProperty("items").EnumerateArray().Any(item => item.GetProperty("connectionId").GetString() == id))
            {
                holder = i;
            }
        }

        await topology.Processes[holder].KillAsync();
        await client.DisposeAsync();
        var survivor = nodes[1 - holder].Management;
        for (var n = 0; n < 5; n++, next++)
        {
            Assert.Equal(HttpStatusCode.OK, (await direct.PostAsync(new Uri(survivor, "@topics/events.h"), new StringContent($$"""{"type":"tick","data":{{next}}}""", Encoding.UTF8, "application/json"))).StatusCode);
        }

        client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, nodes[1 - holder].Client.Port), $"/?resume={Uri.EscapeDataString(token)}&received={received}");
        var refused = Json(await client.ReadFrameAsync());
        Assert.Equal("resume_failed", refused.GetProperty("code").GetString());
        var fresh = Json(await client.ReadFrameAsync());
        Assert.Equal("connected", fresh.GetProperty("type").GetString());
        Assert.NotEqual(id, fresh.GetProperty("connectionId").GetString());
        await client.SendTextAsync($$$"""{"action":"subscribe","channel":"events.h","since":{"offset":{{{log.LastOffset}}},"epoch":"{{{epoch}}}"}}""");
        Assert.True(Json(await client.ReadFrameAsync()).GetProperty("recovered").GetBoolean());
        while (events.Count < next - 1)
        {
            Take(await client.ReadFrameAsync());
        }

        Assert.Equal(Enumerable.Range(1, next - 1), events);
        await client.DisposeAsync();
    }

    private static JsonElement Json(RawFrame frame) => JsonDocument.Parse(frame.Payload).RootElement.Clone();
}
