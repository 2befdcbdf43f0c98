using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

public class RoutingTests
{
    [Fact]
    public async Task Echo_returns_text_as_text_and_binary_as_binary()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("héllo ✓");
        Assert.Equal("héllo ✓", await client.ReceiveTextAsync());
        byte[] bytes = [0, 1, 2, 255, 254];
        await client.SendAsync(bytes, WebSocketMessageType.Binary);
        var frame = await client.ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Binary, frame.Type);
        Assert.Equal(bytes, frame.Data);
        await client.SendTextAsync("");
        Assert.Equal("", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Sendmessage_broadcasts_to_50_clients()
    {
        await using var host = await GatewayHost.StartAsync();
        var clients = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => host.ConnectAsync()));
        try
        {
            await clients[7].SendTextAsync("""{"action":"sendmessage","data":"hello everyone"}""");
            var received = await Task.WhenAll(clients.Select(c => c.ReceiveTextAsync()));
            Assert.All(received, r => Assert.Equal("""{"action":"sendmessage","data":"hello everyone"}""", r));
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Custom_routes_win_over_default_and_keys_are_case_sensitive()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$default:Handler"] = "mock",
            ["Gateway:Routes:$default:Response"] = "default-route",
            ["Gateway:Routes:join:Handler"] = "mock",
            ["Gateway:Routes:join:Response"] = """{"joined":true}""",
            ["Gateway:Routes:upper:RouteKey"] = "Join",
            ["Gateway:Routes:upper:Handler"] = "mock",
            ["Gateway:Routes:upper:Response"] = "capital-J",
        });
        await using var client = await host.ConnectAsync();
        foreach (var (message, expected) in new[]
        {
            ("""{"action":"join"}""", """{"joined":true}"""),
            ("""{"action":"Join"}""", "capital-J"),
            ("""{"action":"JOIN"}""", "default-route"),
            ("""{"action":"unknown"}""", "default-route"),
            ("""{"other":"join"}""", "default-route"),
            ("not json at all", "default-route"),
            ("""{"action":"join" """, "default-route"),
            ("""{"action":"$connect"}""", "default-route"),
        })
        {
            await client.SendTextAsync(message);
            Assert.Equal(expected, await client.ReceiveTextAsync());
        }

        await client.SendAsync([1, 2, 3], WebSocketMessageType.Binary);
        Assert.Equal("default-route", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Template_expressions_select_routes_and_configured_routes_replace_the_defaults()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:RouteSelectionExpression"] = "${request.body.service}/${request.body.action}",
            ["Gateway:Routes:chat/send:Handler"] = "mock",
            ["Gateway:Routes:chat/send:Response"] = "sent",
        });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"send","service":"chat"}""");
        Assert.Equal("sent", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"action":"send","service":"mail"}""");
        // Configuring routes replaces the server's default ones, so there is no $default echo here.
        Assert.Contains("Forbidden", await client.ReceiveTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_default_route_an_unmatched_message_gets_Forbidden_and_the_connection_stays()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:ping:Handler"] = "mock",
            ["Gateway:Routes:ping:Response"] = "pong",
        });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"nope"}""");
        using (var doc = JsonDocument.Parse(await client.ReceiveTextAsync()))
        {
            Assert.Equal("Forbidden", doc.RootElement.GetProperty("message").GetString());
            Assert.Equal(client.Id, doc.RootElement.GetProperty("connectionId").GetString());
            Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("requestId").GetString()));
        }

        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("pong", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task The_forbidden_frame_is_byte_for_byte_the_managed_service_one()
    {
        var frame = Encoding.UTF8.GetString(MessageDispatcher.ErrorFrame("Forbidden", "abc", "req"));
        Assert.Equal("""{"message": "Forbidden", "connectionId":"abc", "requestId":"req"}""", frame);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_failing_handler_answers_Internal_server_error_and_the_connection_stays()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<HandshakeTests.ThrowingHandler>("boom"));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"boom"}""");
        using (var doc = JsonDocument.Parse(await client.ReceiveTextAsync()))
        {
            Assert.Equal("Internal server error", doc.RootElement.GetProperty("message").GetString());
            Assert.Equal(client.Id, doc.RootElement.GetProperty("connectionId").GetString());
        }

        await client.SendTextAsync("still here");
        Assert.Equal("still here", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Handler_classes_from_code_and_by_name_see_the_connection_and_can_send_to_others()
    {
        await using var host = await GatewayHost.StartAsync(
            new Dictionary<string, string?> { ["Gateway:Routes:whisper:Handler"] = "whisperer" },
            g => g.AddRouteHandler<Whisperer>("whisperer").MapRoute<WhoAmI>("whoami"));
        await using var alice = await host.ConnectAsync("/prod");
        await using var bob = await host.ConnectAsync();

        await alice.SendTextAsync("""{"action":"whoami"}""");
        Assert.Equal($"{alice.Id} whoami prod 127.0.0.1", await alice.ReceiveTextAsync());

        await alice.SendTextAsync($$"""{"action":"whisper","to":"{{bob.Id}}","text":"psst"}""");
        Assert.Equal($"from {alice.Id}: psst", await bob.ReceiveTextAsync());
        Assert.Equal("Sent", await alice.ReceiveTextAsync());

        await alice.SendTextAsync("""{"action":"whisper","to":"nobody-here-at-all-x","text":"psst"}""");
        Assert.Equal("Gone", await alice.ReceiveTextAsync());
        await alice.SendTextAsync("""{"action":"whisper","to":"../etc","text":"psst"}""");
        Assert.Equal("BadId", await alice.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_key_that_cannot_be_text_goes_to_default_and_the_connection_stays()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"\uD800"}""");
        Assert.Equal("""{"action":"\uD800"}""", await client.ReceiveTextAsync());
        await client.SendTextAsync("next");
        Assert.Equal("next", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Messages_of_one_connection_are_dispatched_in_order_while_connections_run_in_parallel()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<SlowEcho>("slow"));
        await using var a = await host.ConnectAsync();
        await using var b = await host.ConnectAsync();
        for (var i = 0; i < 200; i++)
        {
            await a.SendTextAsync(i % 10 == 0 ? $$"""{"action":"slow","n":{{i}}}""" : i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // b is answered while a's slow messages are still being worked through.
        await b.SendTextAsync("b");
        Assert.Equal("b", await b.ReceiveTextAsync());
        for (var i = 0; i < 200; i++)
        {
            var expected = i % 10 == 0 ? $$"""{"action":"slow","n":{{i}}}""" : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(expected, await a.ReceiveTextAsync());
        }
    }

    public sealed class WhoAmI : IGatewayRouteHandler
    {
        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context) =>
            ValueTask.FromResult(RouteResult.Reply(Encoding.UTF8.GetBytes(
                $"{context.ConnectionId} {context.RouteKey} {context.Connection.Handshake.Stage} {context.Connection.SourceIp}")));
    }

    public sealed class Whisperer : IGatewayRouteHandler
    {
        public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            using var doc = JsonDocument.Parse(context.Body);
            var to = doc.RootElement.GetProperty("to").GetString()!;
            var result = await context.SendAsync(to, $"from {context.ConnectionId}: {doc.RootElement.GetProperty("text").GetString()}");
            return RouteResult.Reply(Encoding.UTF8.GetBytes(result.ToString()));
        }
    }

    public sealed class SlowEcho : IGatewayRouteHandler
    {
        public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            await Task.Yield();
            await Task.Delay(2);
            return RouteResult.Reply(context.Body.ToArray());
        }
    }
}
