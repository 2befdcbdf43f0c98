using System.Text;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>Idle, lifetime and ping deadlines, driven by the host's fake clock.</summary>
public class DeadlineTests
{
    [Fact]
    public async Task Idle_clients_are_closed_with_1001_but_pushes_keep_a_listen_only_client_alive()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:IdleTimeout"] = "00:10:00",
            ["Gateway:Connections:PingInterval"] = "00:00:00",
        });
        await using var listener = await host.ConnectAsync();
        await using var silent = await host.ConnectAsync();

        for (var i = 0; i < 3; i++)
        {
            host.Advance(TimeSpan.FromMinutes(4));
            Assert.Equal(SendResult.Sent, await host.Sender.SendAsync(listener.Id, OutboundMessage.Text(Encoding.UTF8.GetBytes($"push {i}"))));
            Assert.Equal($"push {i}", await listener.ReceiveTextAsync());
        }

        // Twelve minutes in: the silent client went past ten, the listener was pushed to four minutes ago.
        Assert.Equal(CloseCodes.GoingAway, (await silent.Closed.WithTimeout()).CloseStatus);
        var e = await host.Events.DisconnectOf(silent.Id);
        Assert.Equal(CloseCodes.GoingAway, e.StatusCode);
        Assert.Equal("Idle timeout", e.Reason);
        Assert.False(listener.Closed.IsCompleted);
        await listener.SendTextAsync("still here");
        Assert.Equal("still here", await listener.ReceiveTextAsync());
    }

    [Fact]
    public async Task Messages_from_the_client_keep_it_alive()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:IdleTimeout"] = "00:10:00" });
        await using var client = await host.ConnectAsync();
        for (var i = 0; i < 4; i++)
        {
            host.Advance(TimeSpan.FromMinutes(6));
            await client.SendTextAsync("tick");
            Assert.Equal("tick", await client.ReceiveTextAsync());
        }

        Assert.True(host.Connection(client.Id).IsOpen);
    }

    [Fact]
    public async Task The_connection_lifetime_closes_with_1001_however_active()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:MaxLifetime"] = "02:00:00" });
        await using var client = await host.ConnectAsync();
        for (var i = 0; i < 23; i++)
        {
            host.Advance(TimeSpan.FromMinutes(5));
            await client.SendTextAsync("busy");
            Assert.Equal("busy", await client.ReceiveTextAsync());
        }

        Assert.True(host.Connection(client.Id).IsOpen);
        host.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(CloseCodes.GoingAway, (await client.Closed.WithTimeout()).CloseStatus);
        var e = await host.Events.DisconnectOf(client.Id);
        Assert.Equal(CloseCodes.GoingAway, e.StatusCode);
        Assert.Equal("Connection lifetime reached", e.Reason);
    }

    [Fact]
    public async Task A_dead_peer_is_found_by_ping_and_a_live_one_answers()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:PingInterval"] = "00:00:30",
            ["Gateway:Connections:PongTimeout"] = "00:00:10",
        });
        await using var live = await host.ConnectAsync();
        await using var dead = await host.ConnectRawAsync();
        var deadId = await dead.ReadConnectedAsync();

        host.Advance(TimeSpan.FromSeconds(30));
        var ping = await dead.ReadFrameAsync();
        Assert.Equal(9, ping.Opcode);
        // The live client's socket answers with a pong as soon as the ping reaches it.
        await Wait.UntilAsync(() => !host.Connection(live.Id).AwaitingPong, "the live client's pong arrived");

        host.Advance(TimeSpan.FromSeconds(10));
        var e = await host.Events.DisconnectOf(deadId);
        Assert.Equal(CloseCodes.Abnormal, e.StatusCode);
        Assert.Equal("Ping timeout", e.Reason);
        await Wait.UntilAsync(() => !host.Registry.TryGet(deadId, out _), "the dead peer is cleaned up");

        Assert.True(host.Connection(live.Id).IsOpen);
        await live.SendTextAsync("alive");
        Assert.Equal("alive", await live.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_peer_that_answers_pings_but_sends_nothing_stays_until_idle()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:PingInterval"] = "00:00:30",
            ["Gateway:Connections:IdleTimeout"] = "00:02:00",
        });
        await using var client = await host.ConnectAsync();
        for (var i = 0; i < 3; i++)
        {
            host.Advance(TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(() => !host.Connection(client.Id).AwaitingPong, "the pong arrived");
        }

        host.Advance(TimeSpan.FromSeconds(30));
        var e = await host.Events.DisconnectOf(client.Id);
        Assert.Equal("Idle timeout", e.Reason);
    }
}
