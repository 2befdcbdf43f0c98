using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>The executable as an operator runs it: configured by environment variables, logging where to connect, stopped by SIGTERM.</summary>
[Collection(SerialProcesses.Name)]
public class ServerProcessTests
{
    [Fact]
    public async Task The_default_server_echoes_broadcasts_and_drains_on_SIGTERM()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>());
        var (client, management) = await server.WaitForListenersAsync();
        Assert.NotEqual(client.Port, management.Port);
        await using var a = await TestClient.ConnectAsync(client);
        await using var b = await TestClient.ConnectAsync(new Uri(client, "prod"));
        await a.SendTextAsync("echo me");
        Assert.Equal("echo me", await a.ReceiveTextAsync());
        await a.SendTextAsync("""{"action":"sendmessage","text":"to all"}""");
        Assert.Equal("""{"action":"sendmessage","text":"to all"}""", await a.ReceiveTextAsync());
        Assert.Equal("""{"action":"sendmessage","text":"to all"}""", await b.ReceiveTextAsync());

        Assert.Equal(0, await server.StopAsync());
        Assert.Equal(CloseCodes.GoingAway, (await a.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(CloseCodes.GoingAway, (await b.Closed.WithTimeout()).CloseStatus);
        Assert.Contains(server.Lines, l => l.Contains($"$connect: connection {a.Id} opened", StringComparison.Ordinal));
        Assert.Contains(server.Lines, l => l.Contains($"$disconnect: connection {a.Id} from 127.0.0.1 closed with 1001", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Routes_with_dollar_keys_come_from_environment_variables_and_logs_can_be_json()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__LogFormat"] = "json",
            ["Gateway__Routes___connect__Handler"] = "mock",
            ["Gateway__Routes___connect__StatusCode"] = "403",
            ["Gateway__Routes___default__Handler"] = "echo",
        });
        var (client, _) = await server.WaitForListenersAsync();
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(client, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);

        // Compact JSON carries the message template and the values as properties.
        await Wait.UntilAsync(() => server.Lines.Any(l => l.Contains("rejected with {StatusCode}", StringComparison.Ordinal)), "the rejection was logged");
        var rejection = server.Lines.First(l => l.Contains("rejected with {StatusCode}", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(rejection);
        Assert.Equal(403, json.RootElement.GetProperty("StatusCode").GetInt32());
        Assert.Equal(0, await server.StopAsync());
    }

    [Fact]
    public async Task A_settings_file_named_by_GATEWAY_SETTINGS_is_read_and_environment_variables_still_win()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gateway-settings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """
            { "Gateway": { "Routes": {
                "$default": { "Handler": "mock", "Response": "from the file" },
                "hello": { "Handler": "mock", "Response": "hello from the file" } } } }
            """);
        try
        {
            await using var server = ServerProcess.Start(new Dictionary<string, string>
            {
                ["GATEWAY_SETTINGS"] = file,
                ["Gateway__Routes___default__Response"] = "from the environment",
            });
            var (client, _) = await server.WaitForListenersAsync();
            await using var c = await TestClient.ConnectAsync(client);
            await c.SendTextAsync("anything");
            Assert.Equal("from the environment", await c.ReceiveTextAsync());
            await c.SendTextAsync("""{"action":"hello"}""");
            Assert.Equal("hello from the file", await c.ReceiveTextAsync());

            // The file's routes replaced the demo ones: there is no sendmessage broadcast.
            await c.SendTextAsync("""{"action":"sendmessage"}""");
            Assert.Equal("from the environment", await c.ReceiveTextAsync());
            Assert.Equal(0, await server.StopAsync());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_edited_settings_file_applies_on_SIGHUP_to_a_connected_client_and_a_bad_edit_keeps_the_last_good_one()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gateway-settings-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """
            { "Gateway": { "Routes": {
                "$default": { "Handler": "mock", "Response": "default" },
                "hello": { "Handler": "mock", "Response": "hello v1" } } } }
            """);
        try
        {
            await using var server = ServerProcess.Start(new Dictionary<string, string>
            {
                ["GATEWAY_SETTINGS"] = file,
                ["Gateway__LogFormat"] = "json",
            });
            var (client, _) = await server.WaitForListenersAsync();
            await using var c = await TestClient.ConnectAsync(client);
            await c.SendTextAsync("""{"action":"hello"}""");
            Assert.Equal("hello v1", await c.ReceiveTextAsync());

            await File.WriteAllTextAsync(file, """
                { "Gateway": { "Routes": {
                    "$default": { "Handler": "mock", "Response": "default" },
                    "hello": { "Handler": "mock", "Response": "hello v2" },
                    "added": { "Handler": "mock", "Response": "added v2" } } } }
                """);
            await server.HangUpAsync();
            await Wait.UntilAsync(() => Events(server, 1804).Count > 0 && Events(server, 1801).Count > 0, "the server reloaded on SIGHUP", TimeSpan.FromSeconds(30));

            // The file watcher may have seen the edit first (an 1801 of its own, possibly of the file still being written),
            // so the client asks until the SIGHUP's reload has been applied, and no longer.
            var answer = "";
            await Wait.UntilAsync(async () =>
            {
                await c.SendTextAsync("""{"action":"hello"}""");
                answer = await c.ReceiveTextAsync();
                return answer == "hello v2";
            }, "the connected client is routed by the reloaded file", TimeSpan.FromSeconds(30));
            Assert.Equal("hello v2", answer);
            await c.SendTextAsync("""{"action":"added"}""");
            Assert.Equal("added v2", await c.ReceiveTextAsync());

            await File.WriteAllTextAsync(file, """
                { "Gateway": {
                    "Connections": { "MaxMessageBytes": 0, "IdleTimeout": "banana" },
                    "Routes": { "$default": { "Handler": "mock", "Response": "default" }, "hello": { "Handler": "mock", "Response": "hello v3" } } } }
                """);
            await server.HangUpAsync();
            await Wait.UntilAsync(() => Events(server, 1802).Count > 0, "the bad reload was logged", TimeSpan.FromSeconds(30));

            // Each refusal (the file watcher may see the edit too) names every problem at once.
            foreach (var refused in Events(server, 1802))
            {
                var problems = refused.GetProperty("Problems").GetString();
                Assert.Contains("Gateway:Connections:MaxMessageBytes 0", problems, StringComparison.Ordinal);
                Assert.Contains("Gateway:Connections:IdleTimeout: 'banana'", problems, StringComparison.Ordinal);
            }

            await c.SendTextAsync("""{"action":"hello"}""");
            Assert.Equal("hello v2", await c.ReceiveTextAsync());
            Assert.Equal(0, await server.StopAsync());
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>The compact JSON events of the server with the event id <paramref name="id"/>.</summary>
    private static List<JsonElement> Events(ServerProcess server, int id) =>
        [.. server.Lines
            .Where(l => l.StartsWith('{'))
            .Select(l => JsonElement.Parse(l))
            .Where(e => e.TryGetProperty("EventId", out var eventId) && eventId.TryGetProperty("Id", out var value) && value.GetInt32() == id)];

    [Fact]
    public async Task Tokens_and_keys_never_reach_the_log_even_with_framework_logging_at_Information()
    {
        const string ApiKey = "k3y-that-must-not-leak";
        const string SharedSecret = "shared-s3cret-that-must-not-leak";
        var token = TestTokens.Mint(DateTimeOffset.UtcNow, "log-user");
        var refused = TestTokens.Mint(DateTimeOffset.UtcNow, "log-user", issuer: "https://evil.test/");
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Serilog__MinimumLevel__Default"] = "Information",
            ["Serilog__MinimumLevel__Override__Microsoft"] = "Information",
            ["Gateway__Management__ApiKeys__0"] = ApiKey,
            ["Gateway__Auth__Jwt__SigningKeys__0"] = TestTokens.Secret,
            ["Gateway__Auth__Jwt__Issuer"] = TestTokens.Issuer,
            ["Gateway__Auth__SharedSecret__Secret"] = SharedSecret,
            ["Gateway__Auth__SharedSecret__FirstMessage"] = "false",
            ["Gateway__Auth__SharedSecret__QueryParameter"] = "gw_secret",
        });
        var (client, management) = await server.WaitForListenersAsync();
        await using (var byProtocol = await TestClient.ConnectAsync(client, configure: o => { o.AddSubProtocol("bearer"); o.AddSubProtocol(token); }))
        await using (var bySecret = await TestClient.ConnectAsync(new Uri(client, $"?gw_secret={SharedSecret}")))
        await using (var byHeader = await TestClient.ConnectAsync(client, configure: o => o.SetRequestHeader("Authorization", $"Bearer {token}")))
        await using (var c = await TestClient.ConnectAsync(new Uri(client, $"?token={token}&room=1")))
        {
            using var socket = new System.Net.WebSockets.ClientWebSocket();
            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => socket.ConnectAsync(new Uri(client, $"?token={refused}"), CancellationToken.None));
            using var http = new HttpClient();
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(management, $"@connections/{c.Id}?api_key={ApiKey}")) { Content = new StringContent("hello") };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            await http.SendAsync(request);
            await http.PostAsync(new Uri(management, $"@connections/{c.Id}?token={token}"), new StringContent("x"));
        }

        Assert.Equal(0, await server.StopAsync());
        var log = string.Join('\n', server.Lines);
        Assert.Contains("token=***", log, StringComparison.Ordinal);
        Assert.Contains("JWT refused: wrong issuer", log, StringComparison.Ordinal);
        foreach (var secret in new[] { token, token.Split('.')[1], token.Split('.')[2], refused.Split('.')[2], ApiKey, SharedSecret, TestTokens.Secret })
        {
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Invalid_configuration_exits_non_zero_listing_every_error()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Connections__MaxMessageBytes"] = "0",
            ["Gateway__Routes___default__Handler"] = "nonesuch",
        });
        var exit = await server.WaitForExitAsync();
        Assert.NotEqual(0, exit);
        var output = string.Join('\n', server.Lines);
        Assert.Contains("MaxMessageBytes", output, StringComparison.Ordinal);
        Assert.Contains("nonesuch", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_published_server_opens_an_http2_only_listener_when_ClientHttp2_is_set()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string> { ["Gateway__Listeners__ClientHttp2"] = "http://127.0.0.1:0" }, serverFolder: await PublishedServer.FolderAsync());
        var (client, management) = await server.WaitForListenersAsync();
        string? line = null;
        await Wait.UntilAsync(() => (line = server.Lines.FirstOrDefault(l => l.Contains("Clients connect over HTTP/2 only", StringComparison.Ordinal))) is not null, "the HTTP/2 listener was logged");
        var h2c = new Uri($"http://{line![(line!.LastIndexOf(" at ", StringComparison.Ordinal) + 4)..].Trim()}/");
        Assert.NotEqual(client.Port, h2c.Port);

        // HTTP/2 with prior knowledge is served; HTTP/1.1 is refused by Kestrel's HTTP/2-only endpoint.
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var health = await http2.GetAsync(new Uri(h2c, "healthz")).WithTimeout();
        Assert.Equal((HttpStatusCode.OK, HttpVersion.Version20), (health.StatusCode, health.Version));
        using var http1 = new HttpClient();
        using var refused = await http1.GetAsync(new Uri(h2c, "healthz")).WithTimeout();
        Assert.Equal((HttpStatusCode.BadRequest, HttpVersion.Version11), (refused.StatusCode, refused.Version));
        Assert.Contains("HTTP/2 only", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Two WebSockets on one connection, echoed by the default routes.
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        var sockets = new List<ClientWebSocket>();
        try
        {
            foreach (var text in new[] { "first", "second" })
            {
                var socket = new ClientWebSocket();
                sockets.Add(socket);
                socket.Options.HttpVersion = HttpVersion.Version20;
                socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
                await socket.ConnectAsync(new Uri($"ws://{h2c.Authority}/prod"), invoker, CancellationToken.None).WithTimeout();
                var buffer = new byte[1024];
                var connected = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
                Assert.Contains("\"connected\"", System.Text.Encoding.UTF8.GetString(buffer, 0, connected.Count), StringComparison.Ordinal);
                await socket.SendAsync(System.Text.Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
                var echo = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout();
                Assert.Equal(text, System.Text.Encoding.UTF8.GetString(buffer, 0, echo.Count));
            }

            // The connect log and the metric say which protocol the handshakes came over.
            await Wait.UntilAsync(() => server.Lines.Count(l => l.Contains("opened from 127.0.0.1", StringComparison.Ordinal) && l.Contains("HTTP/2", StringComparison.Ordinal)) == 2, "both connects were logged with their protocol");
            using var scrapeClient = new HttpClient();
            var scrape = await scrapeClient.GetStringAsync(new Uri(management, "metrics")).WithTimeout();
            Assert.Contains("gateway_connections_opened_total{otel_scope_name=\"Gateway\",protocol=\"HTTP/2\"} 2\n", scrape, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        Assert.Equal(0, await server.StopAsync());
    }
}
