using System.Text.Json;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integrations;

/// <summary>What <c>$connect</c> may give beside accepting: members of the connected frame and the connection's presence info.</summary>
public sealed class ConnectAnswerTests
{
    private sealed class ConnectWithFields : IGatewayRouteHandler
    {
        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context) => ValueTask.FromResult(RouteResult.Accept() with
        {
            Connected = JsonSerializer.SerializeToElement(new { connector_run_id = "run_1", type = "not taken", connectionId = "not taken", limits = new { messages = 10 } }),
            PresenceInfo = JsonSerializer.SerializeToElement(new { name = "Ana" }),
        });
    }

    private static Dictionary<string, string?> ConnectRoute(Uri uri) => new()
    {
        ["Gateway:Routes:$connect:Integration:Type"] = "http",
        ["Gateway:Routes:$connect:Integration:Uri"] = uri.ToString(),
    };

    [Fact]
    public async Task A_handler_adds_members_to_the_connected_frame_and_keeps_presence_info_on_the_connection()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<ConnectWithFields>("$connect"));
        await using var client = await TestClient.ConnectAsync(host.ClientUri(), expectConnectedFrame: false);
        var connected = await client.ReceiveTextAsync();
        var id = JsonDocument.Parse(connected).RootElement.GetProperty("connectionId").GetString();
        Assert.Equal($$$"""{"type":"connected","connectionId":"{{{id}}}","connector_run_id":"run_1","limits":{"messages":10}}""", connected);
        var connection = host.Registry.TryGet(id!, out var found) ? found : null;
        Assert.Equal("""{"name":"Ana"}""", System.Text.Encoding.UTF8.GetString(connection!.FeatureOrNull<ConnectAnswer>()!.PresenceInfo!));
    }

    [Fact]
    public async Task An_integration_answers_connected_members_and_presence_info_as_JSON_and_anything_else_adds_nothing()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        var answer = """{"connected":{"connector_run_id":"run_2","n":1,"resumeToken":"not taken"},"presenceInfo":{"name":"Bo"}}""";
        backend.Answer = (_, http) =>
        {
            http.Response.ContentType = "application/json";
            return http.Response.WriteAsync(answer);
        };
        await using var host = await GatewayHost.StartAsync(ConnectRoute(backend.Url("/connect")));
        await using (var client = await TestClient.ConnectAsync(host.ClientUri(), expectConnectedFrame: false))
        {
            var connected = await client.ReceiveTextAsync();
            var id = JsonDocument.Parse(connected).RootElement.GetProperty("connectionId").GetString();
            Assert.Equal($$"""{"type":"connected","connectionId":"{{id}}","connector_run_id":"run_2","n":1}""", connected);
        }

        // Amazon ignores a $connect answer's body: text, other JSON, or a connected that is no object add nothing.
        foreach (var other in new[] { "welcome", """{"statusCode":200}""", """{"connected":"yes"}""", "[1]" })
        {
            answer = other;
            await using var client = await TestClient.ConnectAsync(host.ClientUri(), expectConnectedFrame: false);
            var connected = await client.ReceiveTextAsync();
            var id = JsonDocument.Parse(connected).RootElement.GetProperty("connectionId").GetString();
            Assert.Equal($$"""{"type":"connected","connectionId":"{{id}}"}""", connected);
        }
    }
}
