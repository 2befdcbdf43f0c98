using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

public class RateLimitTests
{
    [Fact]
    public async Task Messages_over_the_rate_are_answered_Too_many_requests_and_the_bucket_refills_on_the_clock()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:MessageRateLimit"] = "5",
            ["Gateway:Connections:PingInterval"] = "00:00:00",
        });
        await using var client = await host.ConnectAsync();
        for (var i = 0; i < 8; i++)
        {
            await client.SendTextAsync($"m{i}");
        }

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal($"m{i}", await client.ReceiveTextAsync());
        }

        for (var i = 0; i < 3; i++)
        {
            using var doc = JsonDocument.Parse(await client.ReceiveTextAsync());
            Assert.Equal("Too many requests", doc.RootElement.GetProperty("message").GetString());
            Assert.Equal(client.Id, doc.RootElement.GetProperty("connectionId").GetString());
        }

        // One second on the clock refills the bucket; the connection was never closed.
        host.Advance(TimeSpan.FromSeconds(1));
        await client.SendTextAsync("after");
        Assert.Equal("after", await client.ReceiveTextAsync());
        Assert.True(host.Connection(client.Id).IsOpen);
    }

    [Fact]
    public async Task Handshakes_over_the_per_IP_rate_are_answered_429()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:HandshakeRateLimit"] = "3" });
        var clients = new List<TestClient>();
        for (var i = 0; i < 3; i++)
        {
            clients.Add(await host.ConnectAsync());
        }

        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
        Assert.Equal(HttpStatusCode.TooManyRequests, socket.HttpStatusCode);
        foreach (var c in clients)
        {
            await c.SendTextAsync("still served");
            Assert.Equal("still served", await c.ReceiveTextAsync());
            await c.DisposeAsync();
        }
    }
}
