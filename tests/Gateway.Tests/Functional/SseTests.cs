using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Gateway.Connections;
using Microsoft.AspNetCore.Http;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>The Server-Sent Events fallback over real HTTP: the stream, the posts, their answers, resume, keep-alive, CORS and limits.</summary>
public class SseTests
{
    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Routes:$default:Handler"] = "echo",
            ["Gateway:Connections:MaxMessageBytes"] = "1024",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static Uri BaseUri(GatewayHost host) => new($"http://127.0.0.1:{host.ClientEndPoint.Port}");

    private static HttpClient Management(GatewayHost host) => new() { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };

    [Fact]
    public async Task A_client_authenticates_as_on_a_websocket_posts_in_order_gets_every_frame_and_resumes_after_a_drop()
    {
        await using var host = await GatewayHost.StartAsync(Settings(
            ("Gateway:Auth:Jwt:SigningKeys:0", TestTokens.Secret),
            ("Gateway:Auth:Jwt:Issuer", TestTokens.Issuer),
            ("Gateway:Auth:Jwt:Audience", TestTokens.Audience),
            ("Gateway:Topics:Authorization:AllowAll", "true"),
            ("Gateway:Connections:ResumeWindow", "00:00:30")));
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "user-7", lifetime: TimeSpan.FromHours(1));

        // Refused as the WebSocket handshake would be, before any event.
        await using (var refused = await SseClient.OpenAsync(BaseUri(host), "/sse", expectConnected: false))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.Response.StatusCode);
        }

        await using var client = await SseClient.OpenAsync(BaseUri(host), "/prod/sse?token=" + token);
        var response = client.Response;
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.StartsWith($"/prod/sse/{client.Id}?key=", client.SendUrl, StringComparison.Ordinal);
        Assert.Equal("user-7", host.Connection(client.Id).UserId);

        // A frame with newlines comes as several data lines, numbered as a resuming client counts frames.
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync("hello\nworld")).StatusCode);
        var echoed = await client.NextAsync();
        Assert.Equal("hello\nworld", echoed.Data);
        Assert.StartsWith($"1.{client.Id}.", echoed.Id, StringComparison.Ordinal);

        // A retried post is answered again and not applied again; one that skips ahead is refused with the number expected.
        var retried = await client.PostAsync(1, new StringContent("hello\nworld"));
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal("true", retried.Headers.GetValues("Gateway-Duplicate").Single());
        var skipped = await client.PostAsync(5, new StringContent("too far"));
        Assert.Equal(HttpStatusCode.Conflict, skipped.StatusCode);
        Assert.Equal(2, (await skipped.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("expectedSeq").GetInt64());

        // Binary both ways: posted as application/octet-stream, written back base64 under "event: binary".
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendBinaryAsync([0, 1, 2, 255])).StatusCode);
        var binary = await client.NextAsync();
        Assert.Equal("binary", binary.Type);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, Convert.FromBase64String(binary.Data));

        // Topics and pushes reach it as any connection.
        await client.SendAsync("""{"action":"subscribe","channel":"room"}""");
        Assert.Equal("subscribed", (await client.NextAsync()).Json.GetProperty("type").GetString());
        using var management = Management(host);
        Assert.Equal(HttpStatusCode.OK, (await management.PostAsync("/@topics/room", new StringContent("""{"type":"said","data":1}"""))).StatusCode);
        Assert.Equal("said", (await client.NextAsync()).Json.GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, (await management.PostAsync($"/@connections/{client.Id}", new StringContent("pushed"))).StatusCode);
        Assert.Equal("pushed", await client.ReceiveTextAsync());

        // The stream drops: the session waits; what is sent meanwhile is kept, and posts are told to come back.
        var lastId = client.LastEventId!;
        await client.DropAsync();
        await Wait.UntilAsync(() => host.Connection(client.Id).IsWaiting, "the session waits");
        Assert.Equal(HttpStatusCode.OK, (await management.PostAsync($"/@connections/{client.Id}", new StringContent("while away"))).StatusCode);
        var meanwhile = await client.SendAsync("during the drop");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, meanwhile.StatusCode);

        // An EventSource reconnect: same URL, same credentials, Last-Event-ID (here in the query, as a fetch-less client may).
        await using var back = await SseClient.OpenAsync(BaseUri(host), $"/prod/sse?token={token}&lastEventId={Uri.EscapeDataString(lastId)}", expectConnected: false);
        var resumed = await back.NextAsync();
        Assert.Equal("resumed", resumed.Json.GetProperty("type").GetString());
        Assert.Equal(client.Id, resumed.Json.GetProperty("connectionId").GetString());
        Assert.Equal("while away", await back.ReceiveTextAsync());
        back.ContinueFrom(client);

        // The post refused during the drop goes again with its number, now applied; the numbering goes on across streams.
        Assert.Equal(HttpStatusCode.Accepted, (await back.PostAsync(4, new StringContent("during the drop"))).StatusCode);
        Assert.Equal("during the drop", await back.ReceiveTextAsync());
        Assert.Equal(HttpStatusCode.Accepted, (await back.SendAsync("after the drop")).StatusCode);
        Assert.Equal("after the drop", await back.ReceiveTextAsync());

        // Another user's credentials with the right Last-Event-ID do not take the session.
        var other = TestTokens.Mint(host.Time.GetUtcNow(), "user-8", lifetime: TimeSpan.FromHours(1));
        await using (var thief = await SseClient.OpenAsync(BaseUri(host), "/prod/sse?token=" + other, r => r.Headers.Add("Last-Event-ID", back.LastEventId), expectConnected: false))
        {
            Assert.Equal("resume_failed", (await thief.NextAsync()).Json.GetProperty("code").GetString());
            await thief.ReadConnectedAsync();
            Assert.NotEqual(client.Id, thief.Id);
        }

        // DELETE of the send URL closes it as a client close (1000); the stream ends with its close event.
        Assert.Equal(HttpStatusCode.NoContent, (await back.CloseAsync()).StatusCode);
        var close = await back.NextAsync();
        Assert.Equal("close", close.Type);
        Assert.Equal(1000, close.Json.GetProperty("code").GetInt32());
        await back.Ended.WithTimeout();
        var e = await host.Events.DisconnectOf(client.Id);
        Assert.Equal(CloseCodes.Normal, e.StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await back.PostAsync(6, new StringContent("late"))).StatusCode);
    }

    [Fact]
    public async Task Bad_posts_get_clear_answers_and_the_connection_goes_on()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        await using var client = await SseClient.OpenAsync(BaseUri(host));
        await using var other = await SseClient.OpenAsync(BaseUri(host));
        var http = client.Http;
        var key = client.SendUrl[(client.SendUrl.IndexOf("key=", StringComparison.Ordinal) + 4)..];
        var otherKey = other.SendUrl[(other.SendUrl.IndexOf("key=", StringComparison.Ordinal) + 4)..];

        async Task Expect(HttpStatusCode status, string? errorType, Task<HttpResponseMessage> answer)
        {
            var response = await answer.WithTimeout();
            Assert.Equal(status, response.StatusCode);
            if (errorType is not null)
            {
                Assert.Equal(errorType, response.Headers.GetValues("x-amzn-ErrorType").Single());
                Assert.True((await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).TryGetProperty("message", out _));
            }
        }

        await Expect(HttpStatusCode.NotFound, "NotFoundException", http.PostAsync($"/sse/{client.Id}?key={otherKey}&seq=1", new StringContent("x")));
        await Expect(HttpStatusCode.NotFound, "NotFoundException", http.PostAsync($"/sse/{client.Id}?seq=1", new StringContent("x")));
        await Expect(HttpStatusCode.NotFound, "NotFoundException", http.PostAsync($"/sse/not-an-id?key={key}&seq=1", new StringContent("x")));
        var unknown = client.Id[..8] + "AAAAAAAAAAAA";
        var tokens = host.Services.GetRequiredService<ResumeTokens>();
        await Expect(HttpStatusCode.Gone, "GoneException", http.PostAsync($"/sse/{unknown}?key={tokens.ConnectionKey(unknown)}&seq=1", new StringContent("x")));
        foreach (var seq in new[] { "", "0", "-1", "abc", "1.5", "99999999999999999999" })
        {
            await Expect(HttpStatusCode.BadRequest, "BadRequestException", http.PostAsync($"{client.SendUrl}&seq={seq}", new StringContent("x")));
        }

        await Expect(HttpStatusCode.RequestEntityTooLarge, "PayloadTooLargeException", client.PostAsync(1, new ByteArrayContent(new byte[1025])));
        await Expect(HttpStatusCode.BadRequest, "BadRequestException", client.PostAsync(1, new ByteArrayContent([0xC3, 0x28])));

        // None of that was applied: the first message is still number 1, and exactly 1024 bytes fit.
        var largest = new string('a', 1024);
        await Expect(HttpStatusCode.Accepted, null, client.SendAsync(largest));
        Assert.Equal(largest, await client.ReceiveTextAsync());
        await Expect(HttpStatusCode.Accepted, null, other.SendAsync("other"));
        Assert.Equal("other", await other.ReceiveTextAsync());

        // A stream on another listener, or when the fallback is off, is not there.
        using var management = Management(host);
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/sse")).StatusCode);
    }

    [Fact]
    public async Task Keep_alive_comments_come_on_the_clock_a_client_that_only_listens_outlives_the_ping_check_and_a_drop_without_resume_ends_it()
    {
        await using var host = await GatewayHost.StartAsync(Settings(
            ("Gateway:Sse:KeepAliveInterval", "00:00:15"),
            ("Gateway:Connections:PingInterval", "00:00:30"),
            ("Gateway:Connections:PongTimeout", "00:00:10"),
            ("Gateway:Connections:IdleTimeout", "00:00:00")));
        await using var client = await SseClient.OpenAsync(BaseUri(host));

        // Two minutes of silence but for keep-alive comments (and the ping check's own): never dropped.
        for (var i = 0; i < 8; i++)
        {
            host.Advance(TimeSpan.FromSeconds(15));
            var comment = await client.NextOrCommentAsync();
            Assert.Equal("keep-alive", comment.Comment);
            while (host.Connection(client.Id).QueuedMessages > 0)
            {
                await Task.Delay(5);
            }
        }

        Assert.True(host.Connection(client.Id).IsOpen);

        // A server-side close comes as the close event, then the stream ends.
        using var management = Management(host);
        Assert.Equal(HttpStatusCode.NoContent, (await management.DeleteAsync($"/@connections/{client.Id}")).StatusCode);
        var close = await client.NextAsync();
        Assert.Equal("close", close.Type);
        Assert.Equal(1000, close.Json.GetProperty("code").GetInt32());
        await client.Ended.WithTimeout();

        // Without resuming, a stream that drops ends its connection as a dropped WebSocket does.
        await using var dropped = await SseClient.OpenAsync(BaseUri(host));
        await dropped.DropAsync();
        var e = await host.Events.DisconnectOf(dropped.Id);
        Assert.Equal(CloseCodes.Abnormal, e.StatusCode);
    }

    [Fact]
    public async Task Cross_origin_pages_need_an_allowed_origin_and_a_reader_that_stops_is_a_slow_consumer()
    {
        await using var host = await GatewayHost.StartAsync(Settings(
            ("Gateway:Sse:AllowedOrigins:0", "https://app.example.com"),
            ("Gateway:Connections:SendQueueLimit", "16")));
        using var http = new HttpClient { BaseAddress = BaseUri(host) };

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/sse/AAAAAAAAAAAAAAAAAAAA");
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        var answer = await http.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("https://app.example.com", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", answer.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("Content-Type", answer.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);

        await using (var foreign = await SseClient.OpenAsync(BaseUri(host), "/sse", r => r.Headers.Add("Origin", "https://evil.example.com"), expectConnected: false))
        {
            Assert.Equal(HttpStatusCode.Forbidden, foreign.Response.StatusCode);
        }

        await using var page = await SseClient.OpenAsync(BaseUri(host), "/sse", r => r.Headers.Add("Origin", "https://app.example.com"));
        Assert.Equal("https://app.example.com", page.Response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var foreignPost = new HttpRequestMessage(HttpMethod.Post, page.SendUrl + "&seq=1") { Content = new StringContent("x") };
        foreignPost.Headers.Add("Origin", "https://evil.example.com");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(foreignPost)).StatusCode);

        // A raw client that sends its request and never reads: pushes fill the socket, then the send queue, then it is closed 1013.
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await slow.ConnectAsync(host.ClientEndPoint);
        await slow.SendAsync(Encoding.ASCII.GetBytes("GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        string? slowId = null;
        await Wait.UntilAsync(() => (slowId = host.Registry.All().Select(c => c.Id).FirstOrDefault(id => id != page.Id)) is not null, "the raw client is registered");
        var padding = Encoding.UTF8.GetBytes(new string('p', 16 * 1024));
        SendResult result;
        var sent = 0;
        do
        {
            result = await host.Sender.SendAsync(slowId!, OutboundMessage.Text(padding));
            Assert.Equal(SendResult.Sent, await host.Sender.SendAsync(page.Id, OutboundMessage.Text(Encoding.UTF8.GetBytes($"{sent}"))));
            Assert.Equal($"{sent}", await page.ReceiveTextAsync());
            sent++;
        }
        while (result == SendResult.Sent && sent < 5000);

        Assert.Equal(SendResult.QueueFull, result);
        host.Advance(TimeSpan.FromSeconds(5));
        var e = await host.Events.DisconnectOf(slowId!);
        Assert.Equal(CloseCodes.TryAgainLater, e.StatusCode);
        Assert.True(host.Connection(page.Id).IsOpen);
    }

    [Fact]
    public async Task The_message_rate_presence_and_idle_limits_apply_as_on_a_websocket()
    {
        await using var host = await GatewayHost.StartAsync(Settings(
            ("Gateway:Connections:MessageRateLimit", "1"),
            ("Gateway:Connections:IdleTimeout", "00:10:00"),
            ("Gateway:Connections:PingInterval", "00:00:00"),
            ("Gateway:Topics:Presence:0:Pattern", "room.*")));
        await using var client = await SseClient.OpenAsync(BaseUri(host));

        // Over the rate: taken (202), and answered on the stream as a WebSocket would be.
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync("""{"action":"subscribe","channel":"room.a"}""")).StatusCode);
        Assert.Equal("subscribed", (await client.NextAsync()).Json.GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync("too soon")).StatusCode);
        Assert.Equal("Too many requests", (await client.NextAsync()).Json.GetProperty("message").GetString());

        // Presence: another member joining is told on the stream.
        await using var other = await host.ConnectAsync();
        await other.SendTextAsync("""{"action":"subscribe","channel":"room.a"}""");
        var join = await client.NextAsync();
        Assert.Equal("join", join.Json.GetProperty("type").GetString());
        Assert.Equal(other.Id, join.Json.GetProperty("member").GetProperty("connectionId").GetString());

        // Keep-alive comments are not data: ten quiet minutes close it as idle, with the close event.
        host.Advance(TimeSpan.FromMinutes(10));
        SseEvent close;
        while ((close = await client.NextAsync()).Type != "close")
        {
        }

        Assert.Equal(CloseCodes.GoingAway, close.Json.GetProperty("code").GetInt32());
        Assert.Equal("Idle timeout", close.Json.GetProperty("reason").GetString());
        Assert.Equal("Idle timeout", (await host.Events.DisconnectOf(client.Id)).Reason);
    }

    [Fact]
    public async Task A_streamed_integration_answer_is_relayed_event_by_event_and_the_client_posts_meanwhile()
    {
        var gate = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n");
            await context.Response.Body.FlushAsync();
            await gate.Task;
            await context.Response.WriteAsync("data: second\n\n");
        };
        await using var host = await GatewayHost.StartAsync(Settings(
            ("Gateway:Routes:ask:Integration:Type", "http"),
            ("Gateway:Routes:ask:Integration:Uri", backend.Url("/stream").ToString()),
            ("Gateway:Routes:ask:Integration:ReturnResponse", "true")));
        await using var client = await SseClient.OpenAsync(BaseUri(host));
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync("""{"action":"ask"}""")).StatusCode);
        Assert.Equal("first", await client.ReceiveTextAsync());
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync("meanwhile")).StatusCode);
        Assert.Equal("meanwhile", await client.ReceiveTextAsync());
        gate.SetResult();
        Assert.Equal("second", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Turned_off_the_stream_and_its_send_urls_are_not_there_and_websockets_are_unaffected()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Sse:Enabled", "false")));
        using var http = new HttpClient { BaseAddress = BaseUri(host) };
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/sse")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/prod/sse")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/sse/AAAAAAAAAAAAAAAAAAAA?key=x&seq=1", new StringContent("x"))).StatusCode);
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("still a websocket");
        Assert.Equal("still a websocket", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Streams_over_h2c_share_one_tcp_connection_and_carry_posts_and_pushes_as_over_http1()
    {
        // The setup the docs recommend for browsers: over HTTP/2 every stream and post of a page shares one connection,
        // so the six-connections-per-origin limit of HTTP/1.1 does not apply.
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Listeners:ClientHttp2", "http://127.0.0.1:0")));
        await using var relay = new Client.TcpRelay(host.ClientHttp2EndPoint);
        using var handler = new SocketsHttpHandler();
        var baseUri = new Uri($"http://127.0.0.1:{relay.Port}");
        await using var first = await SseClient.OpenAsync(baseUri, handler: handler, version: HttpVersion.Version20);
        await using var second = await SseClient.OpenAsync(baseUri, handler: handler, version: HttpVersion.Version20);
        Assert.Equal(HttpVersion.Version20, first.Response.Version);
        Assert.Equal("HTTP/2", host.Connection(first.Id).Handshake.Protocol);

        foreach (var (client, text) in new[] { (first, "one"), (second, "two") })
        {
            var posted = await client.SendAsync(text);
            Assert.Equal((HttpStatusCode.Accepted, HttpVersion.Version20), (posted.StatusCode, posted.Version));
            Assert.Equal(text, (await client.NextAsync()).Data);
        }

        using var management = Management(host);
        var push = await management.PostAsync(new Uri($"/@connections/{second.Id}", UriKind.Relative), new StringContent("pushed"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        Assert.Equal("pushed", (await second.NextAsync()).Data);
        Assert.Equal(1, relay.Accepted);

        // A close from the client ends only its own stream.
        Assert.Equal(HttpStatusCode.NoContent, (await first.CloseAsync()).StatusCode);
        await first.Ended.WithTimeout();
        Assert.Equal(HttpStatusCode.Accepted, (await second.SendAsync("still")).StatusCode);
        Assert.Equal("still", (await second.NextAsync()).Data);
    }

    [Fact]
    public async Task A_shared_secret_an_authorizer_and_a_sigv4_signature_admit_a_stream_as_they_admit_a_handshake()
    {
        // The shared secret, in its header or its query parameter; a wrong one is refused before any event.
        const string Secret = "s3cret-shared-by-every-client";
        await using (var secretHost = await GatewayHost.StartAsync(Settings(("Gateway:Auth:SharedSecret:Secret", Secret), ("Gateway:Auth:SharedSecret:FirstMessage", "false"))))
        {
            await using var byHeader = await SseClient.OpenAsync(BaseUri(secretHost), "/sse", r => r.Headers.Add("X-Gateway-Secret", Secret));
            Assert.Equal(HttpStatusCode.Accepted, (await byHeader.SendAsync("by header")).StatusCode);
            Assert.Equal("by header", (await byHeader.NextAsync()).Data);
            await using var byQuery = await SseClient.OpenAsync(BaseUri(secretHost), "/sse?secret=" + Secret);
            Assert.NotEqual(byHeader.Id, byQuery.Id);
            await using var wrong = await SseClient.OpenAsync(BaseUri(secretHost), "/sse?secret=guess", expectConnected: false);
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.Response.StatusCode);
        }

        // An authorizer written for Amazon's events decides on a header; its context reaches the connection.
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (request, context) => request.Json.GetProperty("headers").TryGetProperty("Room-Pass", out var pass) && pass.GetString() == "open"
            ? context.Response.WriteAsync("""{"isAuthorized":true,"context":{"plan":"free"}}""")
            : context.Response.WriteAsync("""{"isAuthorized":false}""");
        await using (var authorizerHost = await GatewayHost.StartAsync(Settings(
            ("Gateway:Auth:Authorizer:Uri", backend.Url("/authorize").ToString()),
            ("Gateway:Auth:Authorizer:IdentitySources:0", "route.request.header.Room-Pass"))))
        {
            await using var denied = await SseClient.OpenAsync(BaseUri(authorizerHost), "/sse", r => r.Headers.Add("Room-Pass", "shut"), expectConnected: false);
            Assert.Equal(HttpStatusCode.Forbidden, denied.Response.StatusCode);
            await using var allowed = await SseClient.OpenAsync(BaseUri(authorizerHost), "/sse", r => r.Headers.Add("Room-Pass", "open"));
            Assert.Equal(HttpStatusCode.Accepted, (await allowed.SendAsync("let in")).StatusCode);
            Assert.Equal("let in", (await allowed.NextAsync()).Data);
            Assert.Equal(2, backend.Requests.Count);
        }

        // SigV4 on the stream's GET, signed as any request is; a signature with the wrong secret is refused.
        const string AccessKeyId = "AKIDSSECLIENT";
        const string SecretKey = "sse-secret-key";
        await using var signedHost = await GatewayHost.StartAsync(Settings(
            ("Gateway:Management:Credentials:0:AccessKeyId", AccessKeyId),
            ("Gateway:Management:Credentials:0:SecretAccessKey", SecretKey),
            ("Gateway:Auth:SigV4:Enabled", "true")), g => g.MapRoute<Auth.WhoAmI>("whoami"));
        var authority = $"127.0.0.1:{signedHost.ClientEndPoint.Port}";
        var amzDate = signedHost.Time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var day = amzDate[..8];
        string Authorization(string secret)
        {
            static byte[] Hmac(byte[] key, string data) => System.Security.Cryptography.HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
            var canonical = $"GET\n/sse\n\nhost:{authority}\nx-amz-date:{amzDate}\n\nhost;x-amz-date\n{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([]))}";
            var toSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{day}/us-east-1/execute-api/aws4_request\n{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
            var key = Hmac(Hmac(Hmac(Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), day), "us-east-1"), "execute-api"), "aws4_request");
            return $"AWS4-HMAC-SHA256 Credential={AccessKeyId}/{day}/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature={Convert.ToHexStringLower(Hmac(key, toSign))}";
        }

        await using var signed = await SseClient.OpenAsync(BaseUri(signedHost), "/sse", r =>
        {
            r.Headers.TryAddWithoutValidation("Authorization", Authorization(SecretKey));
            r.Headers.Add("X-Amz-Date", amzDate);
        });
        Assert.Equal(HttpStatusCode.Accepted, (await signed.SendAsync("""{"action":"whoami"}""")).StatusCode);
        Assert.Contains($"\"{AccessKeyId}\"", (await signed.NextAsync()).Data, StringComparison.Ordinal);
        await using var forged = await SseClient.OpenAsync(BaseUri(signedHost), "/sse", r =>
        {
            r.Headers.TryAddWithoutValidation("Authorization", Authorization("not-the-secret"));
            r.Headers.Add("X-Amz-Date", amzDate);
        }, expectConnected: false);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.Response.StatusCode);
    }

    [Fact]
    public async Task Curl_reads_the_stream_and_posts_to_it()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        var baseUrl = BaseUri(host).ToString().TrimEnd('/');
        using var curl = Process.Start(new ProcessStartInfo("curl", ["-sN", baseUrl + "/sse"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            var output = curl.StandardOutput;
            async Task<string> DataLineAsync()
            {
                while (await output.ReadLineAsync().WaitAsync(Wait.Default) is { } line)
                {
                    if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        return line["data: ".Length..];
                    }
                }

                throw new EndOfStreamException("curl's stream ended");
            }

            var connected = System.Text.Json.JsonDocument.Parse(await DataLineAsync()).RootElement;
            var sendUrl = connected.GetProperty("sendUrl").GetString()!;
            for (var seq = 1; seq <= 3; seq++)
            {
                using var post = Process.Start(new ProcessStartInfo("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", $"message {seq}", $"{baseUrl}{sendUrl}&seq={seq}"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
                Assert.Equal("202", await post.StandardOutput.ReadToEndAsync().WaitAsync(Wait.Default));
                Assert.Equal($"message {seq}", await DataLineAsync());
            }
        }
        finally
        {
            curl.Kill();
        }
    }
}
