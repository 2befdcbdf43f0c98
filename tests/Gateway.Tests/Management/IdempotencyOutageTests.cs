using System.Net;
using Gateway.Backplane;
using Gateway.Management;
using Gateway.Tests.Infrastructure;
using static Gateway.Tests.Management.ManagementCalls;

namespace Gateway.Tests.Management;

/// <summary>A call with an <c>Idempotency-Key</c> while the engine is down: 503, and nothing delivered without the claim.</summary>
public class IdempotencyOutageTests
{
    [Fact]
    public async Task A_call_with_a_key_answers_503_and_delivers_nothing_while_the_engine_is_unreachable()
    {
        var network = new InMemoryBackplaneNetwork();
        await using var host = await GatewayHost.StartAsync(gateway: g =>
        {
            g.Services.AddSingleton(_ => network.Connect());
            g.Services.AddClusterBackplane(
                sp => sp.GetRequiredService<InMemoryBackplaneTransport>(),
                _ => new ClusterBackplaneOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(300), NodeTtl = TimeSpan.FromSeconds(3), RequestTimeout = TimeSpan.FromSeconds(1) });
        }, realClock: true);
        var backplane = host.Services.GetRequiredService<ClusterBackplane>();
        await Wait.UntilAsync(() => backplane.IsConnected, "the node announced itself", TimeSpan.FromSeconds(20));
        await using var client = await host.ConnectAsync();

        network.IsDown = true;
        foreach (var path in new[] { $"/@connections/{client.Id}", "/@broadcast", "/@batch" })
        {
            var body = path == "/@batch" ? $$"""{"items":[{"connectionId":"{{client.Id}}","body":"x"}]}""" : "x";
            var answer = await PostAsync(host, path, body, idempotencyKey: "k");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Status);
            Assert.Equal(ManagementErrors.ServiceUnavailable, answer.ErrorType);
        }

        network.IsDown = false;
        await Wait.UntilAsync(() => backplane.IsConnected, "the node is back", TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, $"/@connections/{client.Id}", "after", idempotencyKey: "k")).Status);
        Assert.Equal("after", await client.ReceiveTextAsync());
        await AssertNothingMoreAsync(client);
    }
}
