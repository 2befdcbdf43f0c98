using System.Net.WebSockets;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Operations;

/// <summary>
/// The executable's log: one event per connect, disconnect, rejection and error, each with the connection id, the
/// route and the source IP as properties; compact JSON in containers; levels from configuration.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class StructuredLogTests
{
    private static readonly Dictionary<string, string> Routes = new()
    {
        ["Gateway__Routes__echo__Handler"] = "echo",
        // A backend nobody listens on: every call to it fails.
        ["Gateway__Routes__join__Integration__Type"] = "http",
        ["Gateway__Routes__join__Integration__Uri"] = "http://127.0.0.1:1/",
        ["Gateway__Connections__AllowedOrigins__0"] = "https://app.example.com",
    };

    [Fact]
    public async Task Connects_disconnects_rejections_and_errors_are_one_json_event_each_with_connection_route_and_source_ip()
    {
        // No Gateway:LogFormat: inside a container (as .NET's images say) the log is compact JSON.
        await using var server = ServerProcess.Start(new Dictionary<string, string>(Routes) { ["DOTNET_RUNNING_IN_CONTAINER"] = "true" });
        var (client, _) = await server.WaitForListenersAsync();

        var socket = new ClientWebSocket();
        await socket.ConnectAsync(client, CancellationToken.None);
        var connectionId = JsonDocument.Parse(await ReceiveAsync(socket)).RootElement.GetProperty("connectionId").GetString()!;
        await SendAsync(socket, """{"action":"nosuch"}""");
        Assert.StartsWith("""{"message": "Forbidden",""", await ReceiveAsync(socket), StringComparison.Ordinal);
        await SendAsync(socket, """{"action":"join"}""");
        Assert.StartsWith("""{"message": "Internal server error",""", await ReceiveAsync(socket), StringComparison.Ordinal);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        socket.Dispose();

        using (var refused = new ClientWebSocket())
        {
            refused.Options.SetRequestHeader("Origin", "https://evil.example.com");
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(client, CancellationToken.None));
        }

        await Wait.UntilAsync(() => Events(server).Any(e => Id(e) == 1003), "the rejection was logged");
        await Wait.UntilAsync(() => Events(server).Any(e => Id(e) == 1002), "the disconnect was logged");
        var events = Events(server);
        JsonElement One(int eventId, bool ofTheClient = true)
        {
            var matching = events.Where(e => Id(e) == eventId && (!ofTheClient || e.GetProperty("ConnectionId").GetString() == connectionId)).ToList();
            Assert.True(matching.Count == 1, $"expected one event {eventId}, found {matching.Count}:\n{string.Join('\n', server.Lines)}");
            Assert.Equal("127.0.0.1", matching[0].GetProperty("SourceIp").GetString());
            return matching[0];
        }

        var opened = One(1001);
        Assert.Equal("$connect", opened.GetProperty("Route").GetString());
        Assert.False(opened.TryGetProperty("@l", out _)); // Information is the default level, which compact JSON leaves out

        var unrouted = One(1201);
        Assert.Equal("nosuch", unrouted.GetProperty("Route").GetString());

        var failed = One(1202);
        Assert.Equal("join", failed.GetProperty("Route").GetString());
        Assert.Equal("Error", failed.GetProperty("@l").GetString());
        Assert.Contains("IntegrationFailedException", failed.GetProperty("@x").GetString(), StringComparison.Ordinal);

        var closed = One(1002);
        Assert.Equal("$disconnect", closed.GetProperty("Route").GetString());
        Assert.Equal(1000, closed.GetProperty("CloseStatus").GetInt32());
        Assert.Equal("client", closed.GetProperty("Initiator").GetString());

        var rejected = One(1003, ofTheClient: false);
        Assert.Equal("$connect", rejected.GetProperty("Route").GetString());
        Assert.Equal(403, rejected.GetProperty("StatusCode").GetInt32());
        Assert.Equal("origin", rejected.GetProperty("RejectReason").GetString());
        Assert.Equal(20, rejected.GetProperty("ConnectionId").GetString()!.Length);
        Assert.NotEqual(connectionId, rejected.GetProperty("ConnectionId").GetString());
        Assert.Equal(0, await server.StopAsync());
    }

    [Fact]
    public async Task Levels_come_from_configuration()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>(Routes)
        {
            ["Gateway__LogFormat"] = "json",
            ["Serilog__MinimumLevel__Default"] = "Information",
            ["Serilog__MinimumLevel__Override__Gateway.Hosting"] = "Warning",
        });
        var (client, _) = await server.WaitForListenersAsync();
        using (var socket = new ClientWebSocket())
        {
            await socket.ConnectAsync(client, CancellationToken.None);
            await ReceiveAsync(socket);
            await SendAsync(socket, """{"action":"join"}""");
            await ReceiveAsync(socket);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        }

        // The error (category Gateway.Routing) is written; connects and disconnects (Gateway.Hosting) are below its level.
        await Wait.UntilAsync(() => Events(server).Any(e => Id(e) == 1202), "the handler failure was logged");
        Assert.Equal(0, await server.StopAsync());
        Assert.DoesNotContain(Events(server), e => Id(e) is 1001 or 1002);
    }

    [Fact]
    public async Task An_unknown_log_format_stops_the_process_at_start()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string> { ["Gateway__LogFormat"] = "xml" });
        Assert.NotEqual(0, await server.WaitForExitAsync());
        Assert.Contains(server.Lines, l => l.Contains("Gateway:LogFormat must be 'json' or 'text'", StringComparison.Ordinal));
    }

    private static List<JsonElement> Events(ServerProcess server) =>
        [.. server.Lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    private static int Id(JsonElement e) =>
        e.TryGetProperty("EventId", out var id) && id.TryGetProperty("Id", out var value) ? value.GetInt32() : 0;

    private static Task SendAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<string> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), CancellationToken.None).WithTimeout();
        return System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count);
    }
}
