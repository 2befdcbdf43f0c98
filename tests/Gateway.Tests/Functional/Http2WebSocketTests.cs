using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Gateway.Tests.Client;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>
/// WebSockets over HTTP/2 (RFC 8441 extended CONNECT): on the cleartext HTTP/2-only listener and on an https client
/// listener (ALPN h2), many sockets share one TCP connection, and each behaves as a socket upgraded over HTTP/1.1.
/// </summary>
public class Http2WebSocketTests
{
    /// <summary>A client forced to HTTP/2: the handshake fails rather than fall back to HTTP/1.1.</summary>
    private static async Task<ClientWebSocket> OpenHttp2Async(Uri uri, HttpMessageInvoker invoker, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.HttpVersion = HttpVersion.Version20;
        socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        configure?.Invoke(socket.Options);
        try
        {
            await socket.ConnectAsync(uri, invoker, CancellationToken.None).WithTimeout();
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    private static async Task<(WebSocketReceiveResult Result, string Text)> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
        return (result, Encoding.UTF8.GetString(buffer, 0, result.Count));
    }

    private static async Task<string> ConnectedIdAsync(ClientWebSocket socket)
    {
        var (_, text) = await ReceiveAsync(socket);
        using var connected = JsonDocument.Parse(text);
        Assert.Equal("connected", connected.RootElement.GetProperty("type").GetString());
        return connected.RootElement.GetProperty("connectionId").GetString()!;
    }

    private static async Task AssertEchoAsync(ClientWebSocket socket, string text)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        Assert.Equal(text, (await ReceiveAsync(socket)).Text);
    }

    [Fact]
    public async Task Sockets_over_one_h2c_connection_behave_as_sockets_over_http1()
    {
        await using var backend = await IntegrationBackend.StartAsync();

        // $connect selects the sub-protocol a client offers, as a Lambda handler does by answering the header.
        backend.Answer = (request, context) =>
        {
            if (request.Json.GetProperty("headers").TryGetProperty("Sec-WebSocket-Protocol", out var offered))
            {
                context.Response.Headers["Sec-WebSocket-Protocol"] = offered.GetString();
            }

            return Task.CompletedTask;
        };
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:ClientHttp2"] = "http://127.0.0.1:0",
            ["Gateway:Connections:MaxMessageBytes"] = "1024",
            ["Gateway:Routes:$connect:Integration:Type"] = "http",
            ["Gateway:Routes:$connect:Integration:Uri"] = backend.Url("/connect").ToString(),
            ["Gateway:Routes:$default:Handler"] = "echo",
        });

        // Every socket goes through one relay, which counts the TCP connections the client opens.
        await using var relay = new TcpRelay(host.ClientHttp2EndPoint);
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        var uri = new Uri($"ws://127.0.0.1:{relay.Port}/prod?room=7");
        using var first = await OpenHttp2Async(uri, invoker, o => o.SetRequestHeader("X-Custom", "h2"));
        using var second = await OpenHttp2Async(uri, invoker);
        using var third = await OpenHttp2Async(uri, invoker, o => o.AddSubProtocol("chat.v1"));
        var ids = new[] { await ConnectedIdAsync(first), await ConnectedIdAsync(second), await ConnectedIdAsync(third) };
        Assert.Equal(1, relay.Accepted);
        Assert.Equal(3, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal("HTTP/2", host.Connection(id).Handshake.Protocol));

        // $connect's event: what HTTP/2 carries, a key made up for backends that read one, no connection headers.
        var connect = (await backend.WaitForAsync(r => r.Json.GetProperty("requestContext").GetProperty("connectionId").GetString() == ids[0])).Json;
        var headers = connect.GetProperty("headers");
        Assert.Equal("HTTP/2", connect.GetProperty("requestContext").GetProperty("protocol").GetString());
        Assert.Equal("CONNECT", connect.GetProperty("requestContext").GetProperty("eventType").GetString());
        Assert.Equal("13", headers.GetProperty("Sec-WebSocket-Version").GetString());
        Assert.Equal($"127.0.0.1:{relay.Port}", headers.GetProperty("Host").GetString());

        // HTTP/2 sends header names in lower case; the names Kestrel knows get its spelling, as over HTTP/1.1, and the
        // others the spelling HTTP/1.1 clients use.
        Assert.Equal("h2", headers.GetProperty("X-Custom").GetString());
        Assert.Equal("h2", connect.GetProperty("multiValueHeaders").GetProperty("X-Custom")[0].GetString());
        Assert.Equal(16, Convert.FromBase64String(headers.GetProperty("Sec-WebSocket-Key").GetString()!).Length);
        Assert.Equal(headers.GetProperty("Sec-WebSocket-Key").GetString(), connect.GetProperty("multiValueHeaders").GetProperty("Sec-WebSocket-Key")[0].GetString());
        Assert.Equal("7", connect.GetProperty("queryStringParameters").GetProperty("room").GetString());
        foreach (var absent in new[] { "Connection", "Upgrade", ":protocol", ":path", ":authority", ":method", ":scheme" })
        {
            Assert.False(headers.TryGetProperty(absent, out _), absent);
        }

        Assert.Null(first.SubProtocol);
        Assert.Equal("chat.v1", third.SubProtocol);

        // Echo on each, then a push to each through the management API.
        await AssertEchoAsync(first, "one");
        await AssertEchoAsync(second, "two");
        await AssertEchoAsync(third, "three");
        using var management = new HttpClient();
        for (var i = 0; i < ids.Length; i++)
        {
            var pushed = await management.PostAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/@connections/{ids[i]}"), new StringContent($"push {i}")).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pushed.StatusCode);
        }

        Assert.Equal("push 0", (await ReceiveAsync(first)).Text);
        Assert.Equal("push 1", (await ReceiveAsync(second)).Text);
        Assert.Equal("push 2", (await ReceiveAsync(third)).Text);

        // Close codes: the client's 1000, 1009 for an oversize message, and the server's own 4000; each ends its stream only.
        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WithTimeout();
        Assert.Equal(1000, (await host.Events.DisconnectOf(ids[0])).StatusCode);
        await second.SendAsync(new byte[2048], WebSocketMessageType.Binary, true, CancellationToken.None).WithTimeout();
        var tooBig = await ReceiveAsync(second);
        Assert.Equal(WebSocketMessageType.Close, tooBig.Result.MessageType);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, second.CloseStatus);
        await second.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "", CancellationToken.None).WithTimeout();
        Assert.Equal(1009, (await host.Events.DisconnectOf(ids[1])).StatusCode);
        host.Connection(ids[2]).Close(4000, "asked to quit");
        var quit = await ReceiveAsync(third);
        Assert.Equal(WebSocketMessageType.Close, quit.Result.MessageType);
        Assert.Equal(4000, (int)third.CloseStatus!);
        Assert.Equal("asked to quit", third.CloseStatusDescription);
        await third.CloseOutputAsync((WebSocketCloseStatus)4000, "", CancellationToken.None).WithTimeout();
        Assert.Equal(4000, (await host.Events.DisconnectOf(ids[2])).StatusCode);

        // The TCP connection outlives its streams: the next socket opens on it.
        using var fourth = await OpenHttp2Async(uri, invoker);
        await ConnectedIdAsync(fourth);
        await AssertEchoAsync(fourth, "four");
        Assert.Equal(1, relay.Accepted);

        // An HTTP/1.1 upgrade on the client listener, for comparison: its event has Amazon's fields only, no protocol.
        await using var http1 = await host.ConnectAsync("/prod");
        var http1Connect = (await backend.WaitForAsync(r => r.Json.GetProperty("requestContext").GetProperty("connectionId").GetString() == http1.Id)).Json;
        Assert.False(http1Connect.GetProperty("requestContext").TryGetProperty("protocol", out _));
        Assert.Equal("websocket", http1Connect.GetProperty("headers").GetProperty("Upgrade").GetString());
    }

    [Fact]
    public async Task An_authorizer_topics_and_resume_work_over_h2c_and_a_first_message_secret_and_sigv4_too()
    {
        await using var backend = await IntegrationBackend.StartAsync();

        // An authorizer written for Amazon's events: it reads the header by the name the client spelled.
        backend.Answer = (request, context) => request.Json.GetProperty("headers").TryGetProperty("Room-Pass", out var pass) && pass.GetString() == "open"
            ? context.Response.WriteAsync("""{"isAuthorized":true,"context":{"plan":"free"}}""")
            : context.Response.WriteAsync("""{"isAuthorized":false}""");
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:ClientHttp2"] = "http://127.0.0.1:0",
            ["Gateway:Auth:Authorizer:Uri"] = backend.Url("/authorize").ToString(),
            ["Gateway:Auth:Authorizer:IdentitySources:0"] = "route.request.header.Room-Pass",
            ["Gateway:Connections:ResumeWindow"] = "00:00:30",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
        });
        await using var relay = new TcpRelay(host.ClientHttp2EndPoint);
        var uri = new Uri($"ws://127.0.0.1:{relay.Port}/");
        using (var refusing = new HttpMessageInvoker(new SocketsHttpHandler()))
        using (var denied = new ClientWebSocket())
        {
            denied.Options.HttpVersion = HttpVersion.Version20;
            denied.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            denied.Options.CollectHttpResponseDetails = true;
            denied.Options.SetRequestHeader("Room-Pass", "shut");
            await Assert.ThrowsAsync<WebSocketException>(() => denied.ConnectAsync(uri, refusing, CancellationToken.None).WithTimeout());
            Assert.Equal(HttpStatusCode.Forbidden, denied.HttpStatusCode);
        }

        string id, token;
        using (var invoker = new HttpMessageInvoker(new SocketsHttpHandler()))
        using (var socket = await OpenHttp2Async(uri, invoker, o => o.SetRequestHeader("Room-Pass", "open")))
        {
            using var connected = JsonDocument.Parse((await ReceiveAsync(socket)).Text);
            id = connected.RootElement.GetProperty("connectionId").GetString()!;
            token = connected.RootElement.GetProperty("resumeToken").GetString()!;
            await socket.SendAsync("""{"action":"subscribe","channel":"rooms.lobby"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
            Assert.Contains("\"subscribed\"", (await ReceiveAsync(socket)).Text, StringComparison.Ordinal);
            await host.Services.GetRequiredService<Gateway.Backplane.IGatewayPublisher>().PublishAsync("rooms.lobby", "said", "\"hello\""u8.ToArray());
            Assert.Contains("\"hello\"", (await ReceiveAsync(socket)).Text, StringComparison.Ordinal);

            // The network drops the connection, and every stream on it: the session waits for its client.
            relay.Cut();
            await Wait.UntilAsync(() => host.Connection(id).IsWaiting, "the session waits");
        }

        await host.Services.GetRequiredService<Gateway.Backplane.IGatewayPublisher>().PublishAsync("rooms.lobby", "said", "\"missed\""u8.ToArray());
        using (var invoker = new HttpMessageInvoker(new SocketsHttpHandler()))
        using (var back = await OpenHttp2Async(new Uri(uri, $"/?resume={Uri.EscapeDataString(token)}&received=2"), invoker, o => o.SetRequestHeader("Room-Pass", "open")))
        {
            using var resumed = JsonDocument.Parse((await ReceiveAsync(back)).Text);
            Assert.True(resumed.RootElement.GetProperty("type").GetString() == "resumed", resumed.RootElement.ToString());
            Assert.Equal(id, resumed.RootElement.GetProperty("connectionId").GetString());
            Assert.Contains("\"missed\"", (await ReceiveAsync(back)).Text, StringComparison.Ordinal);
            await back.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WithTimeout();
        }

        Assert.Equal(1000, (await host.Events.DisconnectOf(id)).StatusCode);
        Assert.Equal(3, relay.Accepted); // the refused client's, the session's, and the one it resumed over

        // The shared secret as the first message: the stream is open before $connect, as over HTTP/1.1.
        const string Secret = "s3cret-shared-by-every-client";
        await using var secretHost = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:ClientHttp2"] = "http://127.0.0.1:0",
            ["Gateway:Auth:SharedSecret:Secret"] = Secret,
            ["Gateway:Auth:SharedSecret:FirstMessage"] = "true",
        });
        using var secretInvoker = new HttpMessageInvoker(new SocketsHttpHandler());
        var secretUri = new Uri($"ws://127.0.0.1:{secretHost.ClientHttp2EndPoint.Port}/");
        using var wrong = await OpenHttp2Async(secretUri, secretInvoker);
        using var right = await OpenHttp2Async(secretUri, secretInvoker);
        await wrong.SendAsync("""{"secret":"guess"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        Assert.Contains("\"unauthorized\"", (await ReceiveAsync(wrong)).Text, StringComparison.Ordinal);
        Assert.Equal(WebSocketMessageType.Close, (await ReceiveAsync(wrong)).Result.MessageType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, wrong.CloseStatus);
        await right.SendAsync(Encoding.UTF8.GetBytes($$"""{"secret":"{{Secret}}"}"""), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        await ConnectedIdAsync(right);
        await AssertEchoAsync(right, "in with the secret");

        // SigV4: the client signs the handshake as the GET it is over HTTP/1.1; over HTTP/2 it is a CONNECT, and verifies the same.
        const string AccessKeyId = "AKIDHTTP2CLIENT";
        const string SecretKey = "http2-secret-key";
        await using var signedHost = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:ClientHttp2"] = "http://127.0.0.1:0",
            ["Gateway:Management:Credentials:0:AccessKeyId"] = AccessKeyId,
            ["Gateway:Management:Credentials:0:SecretAccessKey"] = SecretKey,
            ["Gateway:Auth:SigV4:Enabled"] = "true",
        }, g => g.MapRoute<Auth.WhoAmI>("whoami"));
        var authority = $"127.0.0.1:{signedHost.ClientHttp2EndPoint.Port}";
        const string AmzDate = "20260101T000000Z"; // the host's clock
        string Authorization(string secret)
        {
            static byte[] Hmac(byte[] key, string data) => System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
            var canonical = $"GET\n/\n\nhost:{authority}\nx-amz-date:{AmzDate}\n\nhost;x-amz-date\n{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([]))}";
            var toSign = $"AWS4-HMAC-SHA256\n{AmzDate}\n20260101/us-east-1/execute-api/aws4_request\n{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
            var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), "20260101"), "us-east-1"), "execute-api"), "aws4_request");
            return $"AWS4-HMAC-SHA256 Credential={AccessKeyId}/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature={Convert.ToHexStringLower(Hmac(key, toSign))}";
        }

        using var signedInvoker = new HttpMessageInvoker(new SocketsHttpHandler());
        using var signed = await OpenHttp2Async(new Uri($"ws://{authority}/"), signedInvoker, o => { o.SetRequestHeader("Authorization", Authorization(SecretKey)); o.SetRequestHeader("X-Amz-Date", AmzDate); });
        await ConnectedIdAsync(signed);
        await signed.SendAsync("""{"action":"whoami"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        Assert.Contains($"\"{AccessKeyId}\"", (await ReceiveAsync(signed)).Text, StringComparison.Ordinal);
        using var forged = new ClientWebSocket();
        forged.Options.HttpVersion = HttpVersion.Version20;
        forged.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        forged.Options.CollectHttpResponseDetails = true;
        forged.Options.SetRequestHeader("Authorization", Authorization("not-the-secret"));
        forged.Options.SetRequestHeader("X-Amz-Date", AmzDate);
        await Assert.ThrowsAsync<WebSocketException>(() => forged.ConnectAsync(new Uri($"ws://{authority}/"), signedInvoker, CancellationToken.None).WithTimeout());
        Assert.Equal(HttpStatusCode.Unauthorized, forged.HttpStatusCode);
    }

    [Fact]
    public async Task Permessage_deflate_is_negotiated_on_an_http2_stream_as_on_an_http1_upgrade()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:ClientHttp2"] = "http://127.0.0.1:0",
            ["Gateway:Connections:Compression"] = "On",
            ["Gateway:Routes:$default:Handler"] = "echo",
        });
        using var compressed = new MeterCount(host, "gateway.compression.messages");
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        using var socket = await OpenHttp2Async(new Uri($"ws://127.0.0.1:{host.ClientHttp2EndPoint.Port}/"), invoker, o =>
        {
            o.CollectHttpResponseDetails = true;
            o.DangerousDeflateOptions = new WebSocketDeflateOptions { ClientContextTakeover = false, ServerContextTakeover = false };
        });
        Assert.Equal(HttpStatusCode.OK, socket.HttpStatusCode);
        Assert.StartsWith("permessage-deflate", socket.HttpResponseHeaders!["Sec-WebSocket-Extensions"].Single(), StringComparison.Ordinal);
        await ConnectedIdAsync(socket);

        // Over the threshold both ways: the client compresses it, the gateway inflates, routes and compresses the echo.
        var document = JsonSerializer.Serialize(Enumerable.Range(0, 40).Select(i => new { item = i, name = $"item number {i}", tags = $"a b {i % 7}" }));
        Assert.True(Encoding.UTF8.GetByteCount(document) > 1024);
        await socket.SendAsync(Encoding.UTF8.GetBytes(document), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        using var echoed = new MemoryStream();
        var buffer = new byte[1024];
        WebSocketReceiveResult part;
        do
        {
            part = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
            echoed.Write(buffer, 0, part.Count);
        }
        while (!part.EndOfMessage);

        Assert.Equal(document, Encoding.UTF8.GetString(echoed.ToArray()));
        Assert.Equal(1, compressed.Total);
    }

    [Fact]
    public async Task Refusals_over_http2_are_the_statuses_an_http1_client_gets()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:ClientHttp2"] = "http://127.0.0.1:0",
            ["Gateway:Connections:MaxConnections"] = "3",
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
        });
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        var uri = new Uri($"ws://127.0.0.1:{host.ClientHttp2EndPoint.Port}/");

        async Task<HttpStatusCode> RefusedAsync(string query)
        {
            using var socket = new ClientWebSocket();
            socket.Options.HttpVersion = HttpVersion.Version20;
            socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            socket.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri(uri, query), invoker, CancellationToken.None).WithTimeout());
            return socket.HttpStatusCode;
        }

        // No token, a bad one: 401, before anything else happens.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedAsync(""));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedAsync("?token=" + TestTokens.WithoutSignature(host.Time.GetUtcNow())));

        // A token in the query, offered as a sub-protocol (as browsers do, answered with the marker only), or in the
        // Authorization header: each takes one of the three slots; the next handshake is over MaxConnections: 503.
        using var held = await OpenHttp2Async(new Uri(uri, "?token=" + TestTokens.Mint(host.Time.GetUtcNow(), "user-1")), invoker);
        await ConnectedIdAsync(held);
        using var byProtocol = await OpenHttp2Async(uri, invoker, o => { o.AddSubProtocol("bearer"); o.AddSubProtocol(TestTokens.Mint(host.Time.GetUtcNow(), "user-3")); });
        Assert.Equal("bearer", byProtocol.SubProtocol);
        await ConnectedIdAsync(byProtocol);
        using var byHeader = await OpenHttp2Async(uri, invoker, o => o.SetRequestHeader("Authorization", "Bearer " + TestTokens.Mint(host.Time.GetUtcNow(), "user-4")));
        await ConnectedIdAsync(byHeader);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await RefusedAsync("?token=" + TestTokens.Mint(host.Time.GetUtcNow(), "user-2")));
        Assert.Empty(host.Events.All);

        // Extended CONNECT for another protocol, or with a version other than 13: 400 (HTTP/2 has no upgrade to ask for);
        // a plain GET: 426, as over HTTP/1.1, without the Upgrade header HTTP/2 does not carry.
        using var http = new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var target = new Uri($"http://127.0.0.1:{host.ClientHttp2EndPoint.Port}/");
        foreach (var (protocol, version) in new[] { ("webtransport", "13"), ("websocket", "8"), ("websocket", null) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Connect, target) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            request.Headers.Protocol = protocol;
            if (version is not null)
            {
                request.Headers.Add("Sec-WebSocket-Version", version);
            }

            using var refused = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout();
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{protocol} {version}: {refused.StatusCode}");
            Assert.Equal("13", refused.Headers.GetValues("Sec-WebSocket-Version").Single());
        }

        using var plain = await http.GetAsync(target).WithTimeout();
        Assert.Equal(HttpStatusCode.UpgradeRequired, plain.StatusCode);
        Assert.Equal(HttpVersion.Version20, plain.Version);
        Assert.False(plain.Headers.Contains("Upgrade"));
        Assert.Equal("This endpoint accepts WebSocket connections.\n", await plain.Content.ReadAsStringAsync());

        // The held socket was never disturbed by any of it.
        await AssertEchoAsync(held, "still here");
    }

    [Fact]
    public async Task Wss_over_http2_shares_a_tls_connection_while_http1_upgrades_still_take_the_connection_level_path()
    {
        using var certificates = TestCertificates.Create();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:Client"] = "https://127.0.0.1:0",
            ["Kestrel:Certificates:Default:Path"] = certificates.CertificatePath,
            ["Kestrel:Certificates:Default:KeyPath"] = certificates.KeyPath,
        });
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(certificates.CaPath));
        SocketsHttpHandler Trusting()
        {
            var chain = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            chain.CustomTrustStore.Add(ca);
            return new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = chain } };
        }

        await using var relay = new TcpRelay(host.ClientEndPoint);
        using var invoker = new HttpMessageInvoker(Trusting());
        var uri = new Uri($"wss://127.0.0.1:{relay.Port}/prod");
        using var first = await OpenHttp2Async(uri, invoker, o => o.CollectHttpResponseDetails = true);
        using var second = await OpenHttp2Async(uri, invoker);
        var ids = new[] { await ConnectedIdAsync(first), await ConnectedIdAsync(second) };
        Assert.Equal(1, relay.Accepted);

        // The connection-level handshake stepped aside for the h2 connection: Kestrel's HTTP/2 layer answered (it names itself).
        Assert.Equal(HttpStatusCode.OK, first.HttpStatusCode);
        Assert.Equal("Kestrel", first.HttpResponseHeaders!["Server"].Single());
        Assert.All(ids, id => Assert.Equal("HTTP/2", host.Connection(id).Handshake.Protocol));
        await AssertEchoAsync(first, "over h2");
        await AssertEchoAsync(second, "over h2 too");
        await second.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WithTimeout();
        Assert.Equal(1000, (await host.Events.DisconnectOf(ids[1])).StatusCode);
        await AssertEchoAsync(first, "after the other closed");

        // The same listener still upgrades HTTP/1.1 at the connection level (no Server header: Kestrel's HTTP layer did not answer).
        using var http1Invoker = new HttpMessageInvoker(Trusting());
        using var http1 = new ClientWebSocket();
        http1.Options.CollectHttpResponseDetails = true;
        await http1.ConnectAsync(new Uri($"wss://127.0.0.1:{host.ClientEndPoint.Port}/prod"), http1Invoker, CancellationToken.None).WithTimeout();
        Assert.Equal(HttpStatusCode.SwitchingProtocols, http1.HttpStatusCode);
        Assert.False(http1.HttpResponseHeaders!.ContainsKey("Server"));
        var http1Id = await ConnectedIdAsync(http1);
        Assert.Equal("HTTP/1.1", host.Connection(http1Id).Handshake.Protocol);
        await AssertEchoAsync(http1, "over http/1.1");
    }
}
