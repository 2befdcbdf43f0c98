using System.Net;
using System.Net.WebSockets;
using Gateway.Connections;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

public class HandshakeTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/prod")]
    public async Task Clients_connect_at_the_root_and_at_the_stage(string path)
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync(path);
        Assert.True(ConnectionId.IsWellFormed(client.Id));
        Assert.True(host.Services.GetRequiredService<GatewayNode>().Owns(client.Id));
        await client.SendTextAsync("hello");
        Assert.Equal("hello", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Other_paths_and_plain_requests_are_not_upgraded()
    {
        await using var host = await GatewayHost.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}") };
        var plain = await http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/staging", UriKind.Relative))).StatusCode);
        var ex = await Assert.ThrowsAsync<WebSocketException>(() => host.ConnectAsync("/staging"));
        Assert.Contains("404", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_management_listener_does_not_accept_clients_but_both_answer_health()
    {
        await using var host = await GatewayHost.StartAsync();
        var mgmt = new Uri($"ws://127.0.0.1:{host.ManagementEndPoint.Port}/");
        await Assert.ThrowsAsync<WebSocketException>(() => TestClient.ConnectAsync(mgmt));
        using var http = new HttpClient();
        foreach (var port in new[] { host.ClientEndPoint.Port, host.ManagementEndPoint.Port })
        {
            Assert.Equal("Healthy", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/healthz")));
            Assert.Equal("Ready", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/readyz")));
        }
    }

    [Fact]
    public async Task The_connected_frame_can_be_turned_off()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:SendConnectedMessage"] = "false" });
        await using var client = await host.ConnectAsync(expectConnectedFrame: false);
        await client.SendTextAsync("first");
        Assert.Equal("first", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_connect_handler_rejects_with_its_exact_status_and_nothing_else_happens()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<ConnectGate>("$connect"));
        foreach (var status in new[] { 401, 403, 429, 418 })
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri($"/?deny={status}"), CancellationToken.None));
            Assert.Equal((HttpStatusCode)status, socket.HttpStatusCode);
        }

        await using var accepted = await host.ConnectAsync("/?deny=0", configure: o => o.AddSubProtocol("chat.v1"));
        Assert.Equal("chat.v1", accepted.Socket.SubProtocol);
        await accepted.CloseAsync();
        await host.Events.DisconnectOf(accepted.Id);
        Assert.Single(host.Events.All, e => e.Type == RouteEventType.Disconnect);
        Assert.Equal(0, host.Registry.SlotsInUse);
    }

    [Fact]
    public async Task A_mock_connect_route_from_configuration_rejects_and_a_crashing_one_answers_500()
    {
        await using (var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:_connect:Handler"] = "mock",
            ["Gateway:Routes:_connect:StatusCode"] = "403",
        }))
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
            Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
        }

        await using (var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<ThrowingHandler>("$connect")))
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
            Assert.Equal(HttpStatusCode.InternalServerError, socket.HttpStatusCode);
            Assert.Empty(host.Events.All);
        }
    }

    [Theory]
    [InlineData("dGhlIHNh                                        bXBsZSBub25jZQ==")]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ")]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==AAAA")]
    [InlineData("!!!!!!!!!!!!!!!!!!!!!!==")]
    public async Task A_malformed_key_is_refused_before_connect_runs(string key)
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<EventRecorder>("$connect"));
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(host.ClientEndPoint);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer).AsTask().WithTimeout();
        Assert.StartsWith("HTTP/1.1 426", System.Text.Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
        Assert.Empty(host.Events.All);
    }

    [Fact]
    public async Task A_handshake_still_in_connect_when_shutdown_begins_is_closed_with_1001()
    {
        var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<GatedConnect>("$connect"));
        var gate = host.Services.GetRequiredService<GatedConnect>();
        var recorder = host.Events;
        var connecting = host.ConnectAsync();
        await gate.Entered.Task.WithTimeout();
        host.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().StopApplication();
        await Wait.UntilAsync(() => host.Registry.IsDraining, "the drain began");
        var stopping = host.DisposeAsync().AsTask();
        gate.Open.SetResult();
        await using var client = await connecting.WithTimeout();
        Assert.Equal(CloseCodes.GoingAway, (await client.Closed.WithTimeout()).CloseStatus);
        await stopping.WithTimeout();
        Assert.Contains(recorder.All, e => e.ConnectionId == client.Id && e.StatusCode == CloseCodes.GoingAway);
    }

    [Fact]
    public async Task Shutdown_waits_for_disconnect_events_no_longer_than_the_drain_timeout()
    {
        var host = await GatewayHost.StartAsync(
            new Dictionary<string, string?> { ["Gateway:Connections:DrainTimeout"] = "00:00:01" },
            gateway: g => g.MapRoute<StuckDisconnect>("$disconnect"),
            recordDisconnect: false);
        var client = await host.ConnectAsync();
        var stuck = host.Services.GetRequiredService<StuckDisconnect>();

        // The host's own limit (30 s by default) would wait far longer; the drain timeout lets it go after 1 s.
        var stopping = host.DisposeAsync().AsTask();
        Assert.Equal(CloseCodes.GoingAway, (await client.Closed.WithTimeout()).CloseStatus);
        await stuck.Entered.Task.WithTimeout();
        await stopping.WithTimeout(TimeSpan.FromSeconds(10));
        stuck.Release.SetResult();
        await client.DisposeAsync();
    }

    public sealed class StuckDisconnect : IGatewayRouteHandler
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            Entered.TrySetResult();
            await Release.Task;
            return RouteResult.Ok;
        }
    }

    [Fact]
    public async Task Only_listed_browser_origins_may_connect_and_clients_without_an_origin_are_unaffected()
    {
        await using var host = await GatewayHost.StartAsync(
            new Dictionary<string, string?> { ["Gateway:Connections:AllowedOrigins:0"] = "https://app.example.com" },
            g => g.MapRoute<EventRecorder>("$connect"));
        await using var allowed = await host.ConnectAsync(configure: o => o.SetRequestHeader("Origin", "https://app.example.com"));
        await using var noOrigin = await host.ConnectAsync();
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", "https://evil.example.net");
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
        Assert.Equal(2, host.Events.All.Count(e => e.Type == RouteEventType.Connect));
    }

    [Fact]
    public async Task MaxConnections_answers_the_next_handshake_503()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:MaxConnections"] = "2" });
        await using var a = await host.ConnectAsync();
        await using var b = await host.ConnectAsync();
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, socket.HttpStatusCode);

        await a.CloseAsync();
        await host.Events.DisconnectOf(a.Id);
        await Wait.UntilAsync(() => host.Registry.SlotsInUse == 1, "the closed connection's slot is free");
        await using var c = await host.ConnectAsync();
        Assert.NotEqual(a.Id, c.Id);
    }

    [Fact]
    public async Task The_source_ip_comes_from_X_Forwarded_For_only_behind_a_trusted_proxy()
    {
        var headers = new Dictionary<string, string> { ["X-Forwarded-For"] = "198.51.100.9, 203.0.113.7" };
        await using (var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:TrustedProxies:0"] = "127.0.0.0/8" }))
        {
            await using var raw = await RawClient.ConnectAsync(host.ClientEndPoint, "/", headers: headers);
            var id = await raw.ReadConnectedAsync();
            Assert.Equal("203.0.113.7", host.Connection(id).SourceIp);
        }

        await using (var host = await GatewayHost.StartAsync())
        {
            await using var raw = await RawClient.ConnectAsync(host.ClientEndPoint, "/", headers: headers);
            var id = await raw.ReadConnectedAsync();
            Assert.Equal("127.0.0.1", host.Connection(id).SourceIp);
        }
    }

    [Fact]
    public async Task Invalid_configuration_stops_the_host_with_every_error()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:RouteSelectionExpression"] = "$request.header.x",
            ["Gateway:Connections:SendQueueLimit"] = "0",
            ["Gateway:Routes:$default:Handler"] = "nonesuch",
        }));
        var text = ex.ToString();
        Assert.Contains("RouteSelectionExpression", text, StringComparison.Ordinal);
        Assert.Contains("SendQueueLimit", text, StringComparison.Ordinal);
        Assert.Contains("nonesuch", text, StringComparison.Ordinal);
    }

    /// <summary>Rejects with <c>?deny=status</c>; accepts otherwise, selecting the first requested subprotocol, if any.</summary>
    public sealed class ConnectGate : IGatewayRouteHandler
    {
        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            var deny = int.Parse(context.Connection.Handshake.Query["deny"].FirstOrDefault() ?? "0", System.Globalization.CultureInfo.InvariantCulture);
            var requested = context.Connection.Handshake.Headers.SecWebSocketProtocol.FirstOrDefault();
            return ValueTask.FromResult(deny > 0 ? RouteResult.Reject(deny) : RouteResult.Accept(requested?.Split(',')[0].Trim()));
        }
    }

    public sealed class ThrowingHandler : IGatewayRouteHandler
    {
        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context) => throw new InvalidOperationException("handler crashed");
    }

    public sealed class GatedConnect : IGatewayRouteHandler
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            Entered.TrySetResult();
            await Open.Task;
            return RouteResult.Ok;
        }
    }
}
