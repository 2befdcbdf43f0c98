using System.Net;
using System.Text.Json;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Auth;

public sealed class SharedSecretTests
{
    private const string Secret = "s3cret-shared-by-every-client";

    private static Dictionary<string, string?> Settings(bool firstMessage = true) => new()
    {
        ["Gateway:Auth:SharedSecret:Secret"] = Secret,
        ["Gateway:Auth:SharedSecret:FirstMessage"] = firstMessage ? "true" : "false",
        ["Gateway:Auth:SharedSecret:FirstMessageTimeout"] = "00:00:05",
    };

    [Fact]
    public async Task The_secret_in_a_header_or_the_query_connects_and_a_wrong_one_is_refused_with_401()
    {
        await using var host = await GatewayHost.StartAsync(Settings(firstMessage: false), g => g.MapRoute<EventRecorder>("$connect").MapRoute<WhoAmI>("whoami"));
        await using var byHeader = await host.ConnectAsync(configure: o => o.SetRequestHeader("X-Gateway-Secret", Secret));
        await using var byQuery = await host.ConnectAsync($"/?secret={Uri.EscapeDataString(Secret)}");
        var me = await JwtAuthTests.WhoAmIAsync(byQuery);
        Assert.True(me.GetProperty("authenticated").GetBoolean());
        Assert.Equal("secret", me.GetProperty("method").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/?secret=wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/", o => o.SetRequestHeader("X-Gateway-Secret", Secret + "x")));
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/"));
        Assert.Equal(2, host.Events.All.Count(e => e.Type == RouteEventType.Connect));
    }

    [Fact]
    public async Task The_secret_as_the_first_message_runs_connect_then_sends_the_connected_frame()
    {
        await using var host = await GatewayHost.StartAsync(Settings(), g => g.MapRoute<EventRecorder>("$connect"));
        await using var client = await host.ConnectAsync(expectConnectedFrame: false);
        Assert.Empty(host.Events.All);

        // Not authenticated yet: broadcasts pass it by and it is not listed.
        await using (var other = await host.ConnectAsync(configure: o => o.SetRequestHeader("X-Gateway-Secret", Secret)))
        {
            Assert.Equal(1, await host.Sender.BroadcastAsync(Gateway.Connections.OutboundMessage.Text("""{"news":1}"""u8.ToArray())));
        }

        await client.SendTextAsync($$"""{"secret":"{{Secret}}"}""");
        var connected = JsonDocument.Parse(await client.ReceiveTextAsync()).RootElement;
        Assert.Equal("connected", connected.GetProperty("type").GetString());
        var id = connected.GetProperty("connectionId").GetString()!;
        Assert.Contains(host.Events.All, e => e.Type == RouteEventType.Connect && e.ConnectionId == id);

        await client.SendTextAsync("hello");
        Assert.Equal("hello", await client.ReceiveTextAsync());
        await client.CloseAsync();
        Assert.Equal(1000, (await host.Events.DisconnectOf(id)).StatusCode);
    }

    [Fact]
    public async Task A_wrong_or_late_first_message_gets_an_unauthorized_frame_then_1008_and_no_events()
    {
        await using var host = await GatewayHost.StartAsync(Settings(), g => g.MapRoute<EventRecorder>("$connect"));
        foreach (var first in new[] { """{"secret":"nope"}""", "hello", """{"action":"sendmessage"}""", """{"secret":42}""", "{", """{"secret":"\uD800"}""" })
        {
            await using var wrong = await host.ConnectAsync(expectConnectedFrame: false);
            await wrong.SendTextAsync(first);
            var error = JsonDocument.Parse(await wrong.ReceiveTextAsync()).RootElement;
            Assert.Equal("error", error.GetProperty("type").GetString());
            Assert.Equal("unauthorized", error.GetProperty("code").GetString());
            Assert.Equal(1008, (await wrong.Closed.WithTimeout()).CloseStatus);
        }

        await using var late = await host.ConnectAsync(expectConnectedFrame: false);

        // The 101 can reach the client before the server has registered the connection (its socket writes continue inline).
        await Wait.UntilAsync(() => host.Registry.All().Any(c => c.AwaitingCredentials && c.IsOpen), "the late client is registered, awaiting its credentials");
        host.Advance(TimeSpan.FromSeconds(4));
        // The sweep ran inside Advance: had the deadline fired early, the server side would be closing already.
        Assert.Single(host.Registry.All(), c => c.AwaitingCredentials && c.IsOpen);
        host.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("unauthorized", JsonDocument.Parse(await late.ReceiveTextAsync()).RootElement.GetProperty("code").GetString());
        Assert.Equal(1008, (await late.Closed.WithTimeout()).CloseStatus);

        await Wait.UntilAsync(() => host.Registry.SlotsInUse == 0, "every refused connection let go of its slot");
        Assert.Empty(host.Events.All);
    }

    [Fact]
    public async Task A_connect_route_that_refuses_after_the_first_message_closes_with_1008_and_no_disconnect()
    {
        await using var host = await GatewayHost.StartAsync(Settings(), g => g.MapRoute<RefuseAll>("$connect"));
        await using var client = await host.ConnectAsync(expectConnectedFrame: false);
        await client.SendTextAsync($$"""{"secret":"{{Secret}}"}""");
        var error = JsonDocument.Parse(await client.ReceiveTextAsync()).RootElement;
        Assert.Equal("unauthorized", error.GetProperty("code").GetString());
        Assert.Contains("403", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1008, (await client.Closed.WithTimeout()).CloseStatus);
        await Wait.UntilAsync(() => host.Registry.SlotsInUse == 0, "the refused connection let go of its slot");
        Assert.Empty(host.Events.All);
    }

    private sealed class RefuseAll : IGatewayRouteHandler
    {
        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context) => ValueTask.FromResult(RouteResult.Reject(403));
    }
}
