using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Operations;

/// <summary>The admin dashboard at /admin on the management listener: its JSON endpoints, and the page in Chromium.</summary>
[Collection(SerialProcesses.Name)]
public sealed class DashboardTests(ITestOutputHelper output)
{
    private const string ApiKey = "dashboard-api-key";
    private const string AccessKeyId = "AKIDDASHBOARD";
    private const string Secret = "dashboard-secret-access-key";

    private static Dictionary<string, string?> Settings(RedisServer? redis = null, NatsServer? nats = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Management:ApiKeys:0"] = ApiKey,
            ["Gateway:Management:Credentials:0:AccessKeyId"] = AccessKeyId,
            ["Gateway:Management:Credentials:0:SecretAccessKey"] = Secret,
            ["Gateway:Management:Dashboard:SampleInterval"] = "00:00:01",
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
        };
        if (redis is not null)
        {
            settings["Gateway:Redis:Configuration"] = redis.Configuration;
        }

        if (nats is not null)
        {
            settings["Gateway:Nats:Url"] = nats.Url;
            settings["Gateway:Nats:SubjectPrefix"] = "dash";
        }

        return settings;
    }

    private static async Task<GatewayHost> NodeAsync(RedisServer redis)
    {
        var host = await GatewayHost.StartAsync(Settings(redis), realClock: true, recordDisconnect: false);
        await Wait.UntilAsync(() => host.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node announced itself on Redis");
        return host;
    }

    private static async Task<GatewayHost> NodeAsync(NatsServer nats)
    {
        var host = await GatewayHost.StartAsync(Settings(nats: nats), realClock: true, recordDisconnect: false);
        await Wait.UntilAsync(() => host.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node announced itself on NATS");
        return host;
    }

    private static HttpClient Admin(GatewayHost host, string? user = AccessKeyId, string? password = Secret)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/admin/") };
        if (user is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        }

        return http;
    }

    [Fact]
    public async Task The_endpoints_need_the_management_credentials_and_changes_need_the_dashboard_header()
    {
        await using var host = await GatewayHost.StartAsync(Settings(), realClock: true, recordDisconnect: false);
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(DateTimeOffset.UtcNow, "carol")}");
        await client.SendTextAsync("""{"action":"subscribe","channel":"alerts.*"}""");
        await client.ReceiveTextAsync();

        using (var anonymous = Admin(host, user: null))
        {
            var refused = await anonymous.GetAsync(new Uri("api/overview", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Basic", refused.Headers.WwwAuthenticate.Single().Scheme);
        }

        using (var wrong = Admin(host, password: "not-the-secret"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(new Uri("api/overview", UriKind.Relative))).StatusCode);
        }

        using (var keyed = Admin(host, user: null))
        {
            keyed.DefaultRequestHeaders.Add("x-api-key", ApiKey);
            Assert.Equal(HttpStatusCode.OK, (await keyed.GetAsync(new Uri("api/overview", UriKind.Relative))).StatusCode);
        }

        using var admin = Admin(host);
        var page = await admin.GetAsync(new Uri("", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(new Uri("dashboard.js", UriKind.Relative))).StatusCode);

        // Not on the client listener.
        using (var direct = new HttpClient())
        {
            Assert.Equal(HttpStatusCode.NotFound, (await direct.GetAsync(new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}/admin/"))).StatusCode);
        }

        // The overview: this node, its connection, its topic; samples every second, one in each slot, none missing.
        await Wait.UntilAsync(async () => (await OverviewAsync(admin)).GetProperty("samples").GetArrayLength() >= 5, "five samples were taken");
        var overview = await OverviewAsync(admin);
        var times = overview.GetProperty("samples").EnumerateArray().Select(e => e.GetProperty("t").GetInt64()).ToList();
        Assert.All(times.Zip(times.Skip(1)), pair => Assert.Equal(1000, pair.Second - pair.First));
        Assert.Equal("none", overview.GetProperty("backplane").GetString());
        Assert.Equal(1, overview.GetProperty("cluster").GetProperty("connections").GetInt32());
        Assert.Equal(1, overview.GetProperty("cluster").GetProperty("nodes").GetInt32());
        Assert.Equal("alerts.*", overview.GetProperty("topics")[0].GetProperty("pattern").GetString());
        Assert.Equal(1, overview.GetProperty("topics")[0].GetProperty("subscribers").GetInt32());

        var info = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/connections/{client.Id}", UriKind.Relative))).RootElement;
        Assert.Equal("carol", info.GetProperty("userId").GetString());
        Assert.Equal("jwt", info.GetProperty("authMethod").GetString());
        Assert.Equal("alerts.*", info.GetProperty("subscriptions")[0].GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri("api/connections/nosuchconnection", UriKind.Relative))).StatusCode);

        // A change without the header, or from another origin, is refused and does nothing.
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.PostAsync(new Uri($"api/connections/{client.Id}/messages", UriKind.Relative), new StringContent("forged"))).StatusCode);
        using (var crossSite = new HttpRequestMessage(HttpMethod.Delete, new Uri($"api/connections/{client.Id}", UriKind.Relative)))
        {
            crossSite.Headers.Add("X-Gateway-Admin", "1");
            crossSite.Headers.Add("Origin", "https://evil.example.com");
            Assert.Equal(HttpStatusCode.Forbidden, (await admin.SendAsync(crossSite)).StatusCode);
        }

        admin.DefaultRequestHeaders.Add("X-Gateway-Admin", "1");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(new Uri($"api/connections/{client.Id}/messages", UriKind.Relative), new StringContent("hello"))).StatusCode);
        Assert.Equal("hello", await client.ReceiveTextAsync());
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync(new Uri($"api/connections/{client.Id}", UriKind.Relative))).StatusCode);
        Assert.Equal(1000, (await client.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(HttpStatusCode.Gone, (await admin.PostAsync(new Uri($"api/connections/{client.Id}/messages", UriKind.Relative), new StringContent("late"))).StatusCode);
    }

    [Fact]
    public async Task Without_credentials_configured_the_dashboard_is_for_this_machine_only_and_not_for_other_sites_pages()
    {
        await using var host = await GatewayHost.StartAsync(realClock: true);
        await using var client = await host.ConnectAsync();
        var port = host.ManagementEndPoint.Port;
        using (var local = Admin(host, user: null))
        {
            Assert.Equal(HttpStatusCode.OK, (await local.GetAsync(new Uri("api/overview", UriKind.Relative))).StatusCode);
            local.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");
            Assert.Equal(HttpStatusCode.Forbidden, (await local.GetAsync(new Uri("api/overview", UriKind.Relative))).StatusCode);
        }

        using var http = new HttpClient();
        async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, string? host = null, string? origin = null, bool dashboardHeader = false)
        {
            using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{port}{path}")) { Content = method == HttpMethod.Post ? new StringContent("pwned") : null };
            if (host is not null)
            {
                request.Headers.Host = host;
            }

            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            if (dashboardHeader)
            {
                request.Headers.Add("X-Gateway-Admin", "1");
            }

            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        // A page of another site whose name now points at 127.0.0.1 (DNS rebinding): its Host and Origin are its own.
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, "/admin/api/overview", host: $"evil.example:{port}"));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, $"/admin/api/connections/{client.Id}/messages", host: $"evil.example:{port}", origin: $"http://evil.example:{port}", dashboardHeader: true));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, $"/@connections/{client.Id}", host: $"evil.example:{port}"));

        // A cross-site form post to the management API (a simple request, no preflight): refused.
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, $"/@connections/{client.Id}", origin: "https://evil.example"));
        Assert.False(client.HasFrame, "nothing reached the client");

        // This machine by name, and the dashboard's own page, are served.
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/admin/api/overview", host: $"localhost:{port}"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Post, $"/admin/api/connections/{client.Id}/messages", host: $"localhost:{port}", origin: $"http://localhost:{port}", dashboardHeader: true));
        Assert.Equal("pwned", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task User_ids_are_decoded_once_and_odd_paths_answer_404()
    {
        await using var host = await GatewayHost.StartAsync(Settings(), realClock: true, recordDisconnect: false);
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(DateTimeOffset.UtcNow, "50%off/a b")}");
        using var admin = Admin(host);
        var found = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/users/{Uri.EscapeDataString("50%off/a b")}/connections", UriKind.Relative))).RootElement;
        Assert.Equal("50%off/a b", found.GetProperty("userId").GetString());
        Assert.Equal(client.Id, found.GetProperty("connections")[0].GetProperty("connectionId").GetString());
        foreach (var path in new[] { "api/users/connections", "api/users//connections", "api/connections/", "api/connections/a%2Fb", "api/nothing", "other" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }
    }

    [Fact]
    public async Task On_NATS_the_overview_names_the_engine_and_every_node_shows_the_whole_cluster()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var a = await NodeAsync(nats);
        await using var b = await NodeAsync(nats);
        var now = DateTimeOffset.UtcNow;
        await using var onA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var onB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");

        foreach (var host in new[] { a, b })
        {
            using var admin = Admin(host);
            await Wait.UntilAsync(
                async () => (await OverviewAsync(admin)).GetProperty("cluster") is var cluster && cluster.GetProperty("nodes").GetInt32() == 2 && cluster.GetProperty("connections").GetInt32() == 2,
                "the overview counts both nodes and their connections");
            var overview = await OverviewAsync(admin);
            Assert.Equal("nats", overview.GetProperty("backplane").GetString());
            Assert.True(overview.GetProperty("backplaneAvailable").GetBoolean());
            Assert.False(overview.TryGetProperty("partial", out _));
            Assert.Equal(
                new[] { onA.Id[..8], onB.Id[..8] }.Order(StringComparer.Ordinal),
                overview.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("nodeId").GetString()!).Order(StringComparer.Ordinal));

            // Another node's connection, found through NATS.
            var other = host == a ? onB : onA;
            var found = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"api/connections/{other.Id}", UriKind.Relative))).RootElement;
            Assert.Equal(host == a ? "bob" : "alice", found.GetProperty("userId").GetString());
        }
    }

    [Fact]
    public async Task Chromium_shows_two_nodes_finds_connections_across_them_and_messages_and_disconnects_one()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await NodeAsync(redis);
        await using var b = await NodeAsync(redis);
        var now = DateTimeOffset.UtcNow;
        await using var aliceOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var aliceOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var bobOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");
        foreach (var (client, channel) in new[] { (aliceOnA, "news.sports"), (aliceOnB, "news.>"), (bobOnB, "news.sports") })
        {
            await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
            Assert.Contains("\"subscribed\"", await client.ReceiveTextAsync(), StringComparison.Ordinal);
        }

        // One client keeps talking, so that the rates chart moves.
        using var stop = new CancellationTokenSource();
        var talking = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await aliceOnA.SendTextAsync("tick");
                await aliceOnA.ReceiveTextAsync();
                await Task.Delay(20, CancellationToken.None);
            }
        });

        var screenshot = Environment.GetEnvironmentVariable("GATEWAY_DASHBOARD_SCREENSHOT") is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(Path.GetTempPath(), $"gateway-dashboard-{Guid.NewGuid():N}.png");
        const string testMessage = """{"type":"test","message":"Hello from the Gateway dashboard"}""";
        var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
        {
            ["ADMIN_URL"] = $"http://127.0.0.1:{a.ManagementEndPoint.Port}/admin/",
            ["API_KEY"] = ApiKey,
            ["ACCESS_KEY_ID"] = AccessKeyId,
            ["SECRET_ACCESS_KEY"] = Secret,
            ["EXPECT_CONNECTIONS"] = "3",
            ["NODE_A"] = aliceOnA.Id[..8],
            ["NODE_B"] = bobOnB.Id[..8],
            ["BOB_ID"] = bobOnB.Id,
            ["ALICE_A_ID"] = aliceOnA.Id,
            ["TEST_MESSAGE"] = testMessage,
            ["SCREENSHOT"] = screenshot,
        }, "admin-dashboard.e2e.mjs");
        await stop.CancelAsync();
        await talking;
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 1", report, StringComparison.Ordinal);

        // What the browser did reached bob on the other node: the test message, then a close.
        Assert.Equal(testMessage, await bobOnB.ReceiveTextAsync());
        Assert.Equal(1000, (await bobOnB.Closed.WithTimeout()).CloseStatus);
        Assert.True(aliceOnA.Socket.State == System.Net.WebSockets.WebSocketState.Open, "the forged DELETE closed nothing");
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.AsSpan().StartsWith((byte[])[0x89, 0x50, 0x4E, 0x47]), "the screenshot is a PNG");
    }

    private static async Task<JsonElement> OverviewAsync(HttpClient admin) =>
        JsonDocument.Parse(await admin.GetStringAsync(new Uri("api/overview", UriKind.Relative))).RootElement.Clone();
}
