using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.WebSockets;
using System.Text;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>
/// A plain handshake to the gateway's paths is answered at the connection level; anything else (an encoded path, a
/// second request on a kept-alive connection, a head near Kestrel's limits) goes through Kestrel's HTTP layer. Both
/// ways must give the same connection: the same headers, stage, query and behaviour.
/// </summary>
public class ConnectionLevelHandshakeTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    [Fact]
    public async Task A_handshake_served_either_way_gives_the_same_connection()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<HandshakeRecorder>("$connect"));
        var seen = host.Services.GetRequiredService<HandshakeRecorder>().Seen;

        // Lower-case names, a repeated header, and a first message in the same segment as the head.
        var served = new List<(string Target, bool ByKestrel, Seen Seen)>();
        foreach (var (target, byKestrel, agent) in new[]
        {
            ("/prod?room=1&x=%20y", false, "agent-1"),
            ("/%70rod?room=1&x=%20y", true, "agent-1"),
            ("/PROD/?room=1&x=%20y", false, "agent-2"),
            ("/prod?room=1&x=%20y", false, "agent-1"),
        })
        {
            await using var raw = await RawClient.OpenAsync(host.ClientEndPoint);
            var head = $"GET {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: keep-alive, Upgrade\r\n"
                + $"sec-websocket-key: {Key}\r\nsec-websocket-version: 13\r\nuser-agent: {agent}\r\nX-Custom: a\r\nX-Custom: b\r\n\r\n";
            await raw.WriteAsync([.. Encoding.ASCII.GetBytes(head), .. RawClient.BuildFrame(1, "first"u8.ToArray())]);
            var (status, response) = await raw.ReadResponseHeadAsync();
            Assert.Equal(101, status);
            Assert.Contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", response, StringComparison.Ordinal);

            // Kestrel's own responses name it; the connection level's do not. This is how the test knows which way it went.
            Assert.Equal(byKestrel, response.Contains("Server: Kestrel", StringComparison.Ordinal));
            await raw.ReadConnectedAsync();
            Assert.Equal("first", Encoding.UTF8.GetString((await raw.ReadFrameAsync()).Payload));
            Assert.True(seen.TryDequeue(out var one));
            served.Add((target, byKestrel, one));
        }

        var expected = served[0].Seen;
        Assert.Equal("prod", expected.Stage);
        Assert.Equal("room=1&x= y", expected.Query);
        Assert.Equal(
            "Connection: keep-alive, Upgrade\nHost: 127.0.0.1\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\nUpgrade: websocket\nUser-Agent: agent-1\nX-Custom: a | b",
            expected.Headers);
        Assert.Equal(expected, served[1].Seen);
        Assert.Equal(expected with { Headers = expected.Headers.Replace("agent-1", "agent-2", StringComparison.Ordinal), UserAgent = "agent-2" }, served[2].Seen);
        Assert.Equal(expected, served[3].Seen);
    }

    [Fact]
    public async Task Header_names_are_spelled_as_kestrel_spells_them_either_way()
    {
        // Lower-case names, known to Kestrel and not: each way must report the same spelling.
        string[] names =
        [
            "accept", "accept-charset", "accept-encoding", "accept-language", "access-control-request-headers", "access-control-request-method",
            "authorization", "baggage", "cache-control", "cookie", "correlation-context", "date", "expect", "from", "grpc-accept-encoding",
            "grpc-encoding", "grpc-timeout", "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "keep-alive",
            "max-forwards", "origin", "pragma", "proxy-authorization", "range", "referer", "request-id", "te", "traceparent", "tracestate",
            "translate", "upgrade-insecure-requests", "user-agent", "via", "warning", "sec-websocket-protocol", "sec-websocket-extensions",
            "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-host", "x-real-ip", "x-amz-date", "x-amz-security-token",
            "x-amz-content-sha256", "x-request-id", "dnt", "content-type", "content-encoding", "content-language", "content-location", "content-md5",
            "content-range", "allow", "expires", "last-modified", "trailer",
        ];
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<HandshakeRecorder>("$connect"));
        var seen = host.Services.GetRequiredService<HandshakeRecorder>().Seen;
        var reported = new List<string>();
        foreach (var target in new[] { "/", "/%70rod" })
        {
            await using var raw = await RawClient.OpenAsync(host.ClientEndPoint);
            var head = $"GET {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: {Key}\r\nsec-websocket-version: 13\r\n"
                + string.Concat(names.Select(n => $"{n}: v\r\n")) + "\r\n";
            await raw.WriteAsync(Encoding.ASCII.GetBytes(head));
            var (status, _) = await raw.ReadResponseHeadAsync();
            Assert.Equal(101, status);
            await Wait.UntilAsync(() => !seen.IsEmpty, "$connect saw the handshake");
            Assert.True(seen.TryDequeue(out var one));
            reported.Add(one.Headers);
        }

        Assert.Equal(reported[1], reported[0]);
    }

    [Fact]
    public async Task A_second_request_on_a_kept_alive_connection_can_be_the_upgrade()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var raw = await RawClient.OpenAsync(host.ClientEndPoint);
        await raw.WriteAsync(Encoding.ASCII.GetBytes("HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        var (status, head) = await raw.ReadResponseHeadAsync();
        Assert.Equal(200, status);
        Assert.Contains("Server: Kestrel\r\n", head, StringComparison.Ordinal);

        (status, head) = await raw.HandshakeAsync(host.ClientEndPoint, "/");
        Assert.Equal(101, status);
        Assert.Contains("Server: Kestrel\r\n", head, StringComparison.Ordinal);
        await raw.ReadConnectedAsync();
        await raw.SendTextAsync("over the same connection");
        Assert.Equal("over the same connection", Encoding.UTF8.GetString((await raw.ReadFrameAsync()).Payload));
    }

    [Fact]
    public async Task A_refusal_at_the_connection_level_is_a_whole_response_and_the_connection_closes()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<HandshakeTests.ConnectGate>("$connect"));
        await using (var raw = await RawClient.OpenAsync(host.ClientEndPoint))
        {
            var (status, head) = await raw.HandshakeAsync(host.ClientEndPoint, "/?deny=403");
            Assert.Equal(403, status);
            Assert.StartsWith("HTTP/1.1 403 Forbidden\r\n", head, StringComparison.Ordinal);
            Assert.Contains("Content-Length: 0\r\nConnection: close\r\n", head, StringComparison.Ordinal);
            Assert.True(await raw.ReadToEndAsync());
        }

        // A bad key is answered 426 with its headers and body, as through Kestrel.
        await using (var raw = await RawClient.OpenAsync(host.ClientEndPoint))
        {
            await raw.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            var (status, head) = await raw.ReadResponseHeadAsync();
            Assert.Equal(426, status);
            Assert.Contains("Upgrade: websocket\r\n", head, StringComparison.Ordinal);
            Assert.Contains("Sec-WebSocket-Version: 13\r\n", head, StringComparison.Ordinal);
            const string Body = "This endpoint accepts WebSocket connections.\n";
            Assert.Contains($"Content-Length: {Body.Length}\r\n", head, StringComparison.Ordinal);
            Assert.Equal(Body, await raw.ReadTextAsync(Body.Length));
            Assert.True(await raw.ReadToEndAsync());
        }

        Assert.Equal(0, host.Registry.SlotsInUse);
    }

    [Fact]
    public async Task A_client_that_leaves_during_connect_costs_nothing_and_its_disconnect_runs_once()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<HandshakeTests.GatedConnect>("$connect"));
        var gate = host.Services.GetRequiredService<HandshakeTests.GatedConnect>();
        var raw = await RawClient.OpenAsync(host.ClientEndPoint);
        await raw.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        await gate.Entered.Task.WithTimeout();
        await raw.DisposeAsync();

        // $connect accepts after the client has gone: the upgrade finds no one, the connection ends as lost (1006),
        // and $disconnect runs once.
        gate.Open.SetResult();
        var disconnect = await host.Events.WaitForAsync(e => e.Type == RouteEventType.Disconnect);
        Assert.Equal(1006, disconnect.StatusCode);
        await Wait.UntilAsync(() => host.Registry.SlotsInUse == 0, "the slot was released");
        Assert.Single(host.Events.All, e => e.Type == RouteEventType.Disconnect);

        // The node carries on.
        await using var next = await host.ConnectAsync();
        await next.SendTextAsync("still here");
        Assert.Equal("still here", await next.ReceiveTextAsync());
    }

    [Fact]
    public async Task Connections_still_waiting_for_their_head_do_not_hold_up_a_shutdown()
    {
        // Kestrel's timeouts far longer than the wait below: the shutdown must not wait for them.
        var host = await GatewayHost.StartAsync(kestrel: k =>
        {
            k.Limits.RequestHeadersTimeout = TimeSpan.FromMinutes(5);
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(5);
        });
        await using var silent = await RawClient.OpenAsync(host.ClientEndPoint);
        await using var partial = await RawClient.OpenAsync(host.ClientEndPoint);
        await partial.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
        await using var connected = await host.ConnectAsync();

        await host.DisposeAsync().AsTask().WithTimeout(TimeSpan.FromSeconds(15));
        Assert.True(await silent.ReadToEndAsync());
        Assert.True(await partial.ReadToEndAsync());
    }

    [Fact]
    public async Task Infinite_kestrel_timeouts_are_taken_as_infinite()
    {
        await using var host = await GatewayHost.StartAsync(kestrel: k =>
        {
            k.Limits.RequestHeadersTimeout = Timeout.InfiniteTimeSpan;
            k.Limits.KeepAliveTimeout = Timeout.InfiniteTimeSpan;
        });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("no timer limit");
        Assert.Equal("no timer limit", await client.ReceiveTextAsync());
        using var http = new HttpClient();
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}/healthz")));
    }

    [Fact]
    public async Task AllowedHosts_still_applies_to_handshakes()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["AllowedHosts"] = "gateway.example.com;*.example.org" });
        foreach (var (hostHeader, expected, byKestrel) in new[]
        {
            ("gateway.example.com", 101, false),
            ("gateway.example.com:8080", 101, false),
            ("ws.example.org", 101, false),
            ("127.0.0.1", 400, true),
            ("example.com", 400, true),
        })
        {
            await using var raw = await RawClient.OpenAsync(host.ClientEndPoint);
            await raw.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            var (status, head) = await raw.ReadResponseHeadAsync();
            Assert.True(expected == status, $"{hostHeader}: {status}");
            Assert.Equal(byKestrel, head.Contains("Server: Kestrel", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task With_kestrels_cap_on_upgraded_connections_every_upgrade_goes_through_kestrel()
    {
        await using var host = await GatewayHost.StartAsync(kestrel: k => k.Limits.MaxConcurrentUpgradedConnections = 1);
        await using var raw = await RawClient.OpenAsync(host.ClientEndPoint);
        var (status, head) = await raw.HandshakeAsync(host.ClientEndPoint, "/");
        Assert.Equal(101, status);
        Assert.Contains("Server: Kestrel", head, StringComparison.Ordinal);

        // Kestrel counts it: a second upgrade is over the cap.
        using var second = new ClientWebSocket();
        await Assert.ThrowsAnyAsync<WebSocketException>(() => second.ConnectAsync(host.ClientUri("/"), CancellationToken.None));
    }

    [Fact]
    public async Task Wss_on_an_https_client_listener_is_answered_after_tls()
    {
        using var certificates = TestCertificates.Create();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:Client"] = "https://127.0.0.1:0",
            ["Kestrel:Certificates:Default:Path"] = certificates.CertificatePath,
            ["Kestrel:Certificates:Default:KeyPath"] = certificates.KeyPath,
        });
        // The client trusts the test CA only, and checks the server's name (127.0.0.1) as any client would.
        using var ca = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(certificates.CaPath));
        var chain = new System.Security.Cryptography.X509Certificates.X509ChainPolicy { TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust, RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck };
        chain.CustomTrustStore.Add(ca);
        using var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = chain } };
        using var invoker = new HttpMessageInvoker(handler);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"wss://127.0.0.1:{host.ClientEndPoint.Port}/prod"), invoker, CancellationToken.None).WithTimeout();
        var buffer = new byte[1024];
        var connected = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
        Assert.Contains("\"connected\"", Encoding.UTF8.GetString(buffer, 0, connected.Count), StringComparison.Ordinal);
        await socket.SendAsync("over tls"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        var echo = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
        Assert.Equal("over tls", Encoding.UTF8.GetString(buffer, 0, echo.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WithTimeout();
        Assert.Equal(1000, (await host.Events.WaitForAsync(e => e.Type == RouteEventType.Disconnect)).StatusCode);
    }

    public sealed record Seen(string? Stage, string Query, string Headers, string? UserAgent);

    /// <summary>Records what each handshake carried, as <c>$connect</c> sees it.</summary>
    public sealed class HandshakeRecorder : IGatewayRouteHandler
    {
        public ConcurrentQueue<Seen> Seen { get; } = new();

        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            var handshake = context.Connection.Handshake;
            Seen.Enqueue(new Seen(
                handshake.Stage,
                string.Join("&", handshake.Query.OrderBy(q => q.Key, StringComparer.Ordinal).Select(q => $"{q.Key}={q.Value}")),
                string.Join("\n", handshake.Headers.OrderBy(h => h.Key, StringComparer.Ordinal).Select(h => $"{h.Key}: {string.Join(" | ", h.Value.ToArray())}")),
                handshake.UserAgent));
            return ValueTask.FromResult(RouteResult.Ok);
        }
    }
}
