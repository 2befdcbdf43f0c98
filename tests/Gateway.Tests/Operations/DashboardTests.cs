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
            ["Gateway:Topics:History:0:Pattern"] = "news.>",
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

    private static async Task<GatewayHost> NodeAsync(RedisServer redis, int? maxPageSize = null)
    {
        var settings = Settings(redis);
        if (maxPageSize is { } pageSize)
        {
            settings["Gateway:Management:MaxPageSize"] = pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var host = await GatewayHost.StartAsync(settings, realClock: true, recordDisconnect: false);
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
    public async Task User_ids_and_topics_are_taken_from_the_query_as_they_were_meant_and_odd_paths_answer_404()
    {
        await using var host = await GatewayHost.StartAsync(Settings(), realClock: true, recordDisconnect: false);
        const string odd = "50%off/a b&userId=x<i>";
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(DateTimeOffset.UtcNow, odd)}");
        using var admin = Admin(host);
        var found = await JsonAsync(admin, $"api/user?userId={Uri.EscapeDataString(odd)}");
        Assert.Equal(client.Id, Assert.Single(found.GetProperty("items").EnumerateArray()).GetProperty("connectionId").GetString());

        // The management API's own refusals, as JSON with a message the page shows.
        foreach (var (path, status) in new[]
        {
            ("api/user?userId=", HttpStatusCode.BadRequest),
            ("api/user?userId=a%01b", HttpStatusCode.BadRequest),
            ("api/topic?topic=news.*", HttpStatusCode.BadRequest),
            ("api/topic/history?topic=news.sports&since=1", HttpStatusCode.BadRequest),
            ("api/topics?limit=0", HttpStatusCode.BadRequest),
            ("api/connections?cursor=%25%25", HttpStatusCode.BadRequest),
            ("api/topic/history?topic=alerts.fire", HttpStatusCode.NotFound),
        })
        {
            using var refused = await admin.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(status == refused.StatusCode, $"{path}: {refused.StatusCode}");
            Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString()));
        }

        foreach (var path in new[] { "api/users/x/connections", "api/users//connections", "api/user/x", "api/connections/a%2Fb", "api/nothing", "other" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
        }
    }

    [Fact]
    public async Task The_users_topics_and_connections_views_read_every_node_through_the_management_queries_and_close_a_user()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await NodeAsync(redis);
        await using var b = await NodeAsync(redis);
        var now = DateTimeOffset.UtcNow;
        await using var daveOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "dave")}");
        await using var daveOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "dave")}");
        await using var erinOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "erin")}");
        foreach (var (client, channel) in new[] { (daveOnA, "news.sports"), (daveOnB, "news.sports"), (erinOnB, "news.>"), (erinOnB, "alerts.fire") })
        {
            await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
            Assert.Contains("\"subscribed\"", await client.ReceiveTextAsync(), StringComparison.Ordinal);
        }

        var (nodeA, nodeB) = (daveOnA.Id[..8], daveOnB.Id[..8]);
        using var admin = Admin(b);

        // Users: dave's connections on both nodes, each with its node, from node B's dashboard.
        var dave = await JsonAsync(admin, "api/user?userId=dave");
        Assert.Equal(2, dave.GetProperty("count").GetInt32());
        Assert.True(dave.GetProperty("complete").GetBoolean());
        Assert.Equal(
            new[] { (daveOnA.Id, nodeA), (daveOnB.Id, nodeB) }.Order(),
            dave.GetProperty("items").EnumerateArray().Select(i => (i.GetProperty("connectionId").GetString()!, i.GetProperty("node").GetString()!)).Order());
        Assert.All(dave.GetProperty("items").EnumerateArray(), i => Assert.True(DateTimeOffset.TryParse(i.GetProperty("connectedAt").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _)));
        Assert.Equal(0, (await JsonAsync(admin, "api/user?userId=nobody")).GetProperty("count").GetInt32());

        // Connections: every node's, a page at a time, with the node and the user.
        var first = await JsonAsync(admin, "api/connections?limit=2");
        Assert.Equal(3, first.GetProperty("count").GetInt32());
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await JsonAsync(admin, $"api/connections?limit=2&cursor={Uri.EscapeDataString(cursor!)}");
        Assert.Equal(JsonValueKind.Null, second.GetProperty("nextCursor").ValueKind);
        var listed = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(i => (i.GetProperty("connectionId").GetString()!, i.GetProperty("node").GetString()!, i.GetProperty("userId").GetString()!)).ToList();
        Assert.Equal(new[] { (daveOnA.Id, nodeA, "dave"), (daveOnB.Id, nodeB, "dave"), (erinOnB.Id, nodeB, "erin") }.Order(), listed.Order());

        // Topics: the live topics and patterns of both nodes, merged, by prefix and a page at a time.
        var news = await JsonAsync(admin, "api/topics?prefix=news");
        Assert.Equal(
            new[] { ("news.>", 1), ("news.sports", 2) },
            news.GetProperty("items").EnumerateArray().Select(i => (i.GetProperty("channel").GetString()!, i.GetProperty("subscribers").GetInt32())));
        var onePage = await JsonAsync(admin, "api/topics?limit=1");
        Assert.Equal("alerts.fire", onePage.GetProperty("items")[0].GetProperty("channel").GetString());
        var rest = await JsonAsync(admin, $"api/topics?limit=10&cursor={Uri.EscapeDataString(onePage.GetProperty("nextCursor").GetString()!)}");
        Assert.Equal(["news.>", "news.sports"], rest.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()));

        // A topic: every subscriber a publish reaches (erin's news.> too), and its latest events.
        var sports = await JsonAsync(admin, "api/topic?topic=news.sports");
        Assert.Equal("news.sports", sports.GetProperty("channel").GetString());
        Assert.Equal(3, sports.GetProperty("subscribers").GetInt32());
        Assert.True(sports.GetProperty("complete").GetBoolean());
        using (var publisher = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{a.ManagementEndPoint.Port}/") })
        {
            publisher.DefaultRequestHeaders.Add("x-api-key", ApiKey);
            for (var i = 1; i <= 3; i++)
            {
                using var published = await publisher.PostAsync(new Uri("@topics/news.sports?type=score", UriKind.Relative), new StringContent($"{{\"goals\":{i}}}"));
                Assert.Equal(HttpStatusCode.OK, published.StatusCode);
            }
        }

        var head = await JsonAsync(admin, "api/topic/history?topic=news.sports&limit=1");
        Assert.Equal(3, head.GetProperty("offset").GetInt64());
        var latest = await JsonAsync(admin, $"api/topic/history?topic=news.sports&since=1&epoch={Uri.EscapeDataString(head.GetProperty("epoch").GetString()!)}&limit=20");
        Assert.Equal([2L, 3L], latest.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("offset").GetInt64()));
        Assert.Equal(3, latest.GetProperty("events")[1].GetProperty("data").GetProperty("goals").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(new Uri("api/topic/history?topic=alerts.fire", UriKind.Relative))).StatusCode);

        // Closing every connection of a user is a change: without the dashboard's header it is refused and closes nothing.
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.DeleteAsync(new Uri("api/user?userId=dave", UriKind.Relative))).StatusCode);
        Assert.Equal(2, (await JsonAsync(admin, "api/user?userId=dave")).GetProperty("count").GetInt32());
        using (var close = new HttpRequestMessage(HttpMethod.Delete, new Uri("api/user?userId=dave&code=4000&reason=bye", UriKind.Relative)))
        {
            close.Headers.Add("X-Gateway-Admin", "1");
            using var closed = await admin.SendAsync(close);
            Assert.Equal(HttpStatusCode.OK, closed.StatusCode);
            var body = JsonDocument.Parse(await closed.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(2, body.GetProperty("closed").GetInt32());
            Assert.True(body.GetProperty("complete").GetBoolean());
        }

        Assert.Equal(4000, (await daveOnA.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(4000, (await daveOnB.Closed.WithTimeout()).CloseStatus);
        Assert.True(erinOnB.Socket.State == System.Net.WebSockets.WebSocketState.Open, "erin's connection stays open");
        await Wait.UntilAsync(async () => (await JsonAsync(admin, "api/user?userId=dave")).GetProperty("count").GetInt32() == 0, "dave has no connection left");
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
    public async Task Chromium_shows_two_nodes_lists_users_topics_and_connections_across_them_messages_and_disconnects_one_and_closes_a_user()
    {
        await using var redis = await RedisServer.StartAsync();

        // Pages of three, so that the connection listing has a second page.
        await using var a = await NodeAsync(redis, maxPageSize: 3);
        await using var b = await NodeAsync(redis, maxPageSize: 3);
        var now = DateTimeOffset.UtcNow;
        await using var aliceOnA = await a.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var aliceOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var bobOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");
        const string markupUser = "<img src=x onerror=\"window.injected=1\">";
        await using var markupOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, markupUser)}");
        await using var carolOnB = await b.ConnectAsync($"/?token={TestTokens.Mint(now, "carol")}");
        foreach (var (client, channel) in new[] { (aliceOnA, "news.sports"), (aliceOnB, "news.>"), (bobOnB, "news.sports") })
        {
            await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
            Assert.Contains("\"subscribed\"", await client.ReceiveTextAsync(), StringComparison.Ordinal);
        }

        // Three events for the topic view's history (news.> keeps history); every subscriber takes them first.
        using (var publisher = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{a.ManagementEndPoint.Port}/") })
        {
            publisher.DefaultRequestHeaders.Add("x-api-key", ApiKey);
            for (var i = 1; i <= 3; i++)
            {
                using var published = await publisher.PostAsync(new Uri("@topics/news.sports?type=score", UriKind.Relative), new StringContent($"{{\"goals\":{i}}}"));
                Assert.Equal(HttpStatusCode.OK, published.StatusCode);
            }
        }

        foreach (var client in new[] { aliceOnA, aliceOnB, bobOnB })
        {
            for (var i = 1; i <= 3; i++)
            {
                Assert.Contains($"\"offset\":{i}", await client.ReceiveTextAsync(), StringComparison.Ordinal);
            }
        }

        // One client keeps talking, so that the rates chart moves.
        using var stop = new CancellationTokenSource();
        var talking = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await carolOnB.SendTextAsync("tick");
                await carolOnB.ReceiveTextAsync();
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
            ["EXPECT_CONNECTIONS"] = "5",
            ["NODE_A"] = aliceOnA.Id[..8],
            ["NODE_B"] = bobOnB.Id[..8],
            ["BOB_ID"] = bobOnB.Id,
            ["ALICE_A_ID"] = aliceOnA.Id,
            ["ALICE_B_ID"] = aliceOnB.Id,
            ["MARKUP_USER"] = markupUser,
            ["MARKUP_ID"] = markupOnB.Id,
            ["CAROL_ID"] = carolOnB.Id,
            ["EXPECT_HISTORY"] = """[["3","score","{\"goals\":3}"],["2","score","{\"goals\":2}"],["1","score","{\"goals\":1}"]]""",
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
        Assert.True(carolOnB.Socket.State == System.Net.WebSockets.WebSocketState.Open, "the forged DELETEs closed nothing");
        Assert.True(aliceOnA.Socket.State == System.Net.WebSockets.WebSocketState.Open, "alice was only looked up");

        // Closing the user from the users view closed its connection.
        var closed = await markupOnB.Closed.WithTimeout();
        Assert.Equal(1000, closed.CloseStatus);
        Assert.Equal("Closed from the dashboard", closed.CloseReason);
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.AsSpan().StartsWith((byte[])[0x89, 0x50, 0x4E, 0x47]), "the screenshot is a PNG");
    }

    [Fact]
    public async Task Chromium_names_the_node_that_did_not_answer_above_the_users_connections_and_topics_views()
    {
        const string silentNode = "MUTENODE";
        await using var redis = await RedisServer.StartAsync();
        var settings = Settings(redis);
        settings["Gateway:Redis:RequestTimeout"] = "00:00:01";
        await using var host = await GatewayHost.StartAsync(settings, realClock: true, recordDisconnect: false);
        await Wait.UntilAsync(() => host.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node announced itself on Redis");
        await using var alice = await host.ConnectAsync($"/?token={TestTokens.Mint(DateTimeOffset.UtcNow, "alice")}");
        await alice.SendTextAsync("""{"action":"subscribe","channel":"news.sports"}""");
        Assert.Contains("\"subscribed\"", await alice.ReceiveTextAsync(), StringComparison.Ordinal);

        // A node that is listed as live but never answers (a hung process whose liveness has not lapsed yet).
        await using var silent = Backplane.RedisBackplaneSpecTests.Transport(redis.Configuration, "gw");
        await silent.ConnectAsync(silentNode, new Backplane.SilentReceiver(), CancellationToken.None).WithTimeout();
        await silent.SubscribeAsync().WithTimeout();
        await silent.RenewLivenessAsync(silentNode, Gateway.Backplane.ClusterBackplane.ReadsBatches, TimeSpan.FromMinutes(1)).WithTimeout();

        using (var admin = Admin(host))
        {
            var user = await JsonAsync(admin, "api/user?userId=alice");
            Assert.False(user.GetProperty("complete").GetBoolean());
            Assert.Equal([silentNode], user.GetProperty("missingNodes").EnumerateArray().Select(n => n.GetString()));
        }

        var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
        {
            ["ADMIN_URL"] = $"http://127.0.0.1:{host.ManagementEndPoint.Port}/admin/",
            ["ACCESS_KEY_ID"] = AccessKeyId,
            ["SECRET_ACCESS_KEY"] = Secret,
            ["SILENT_NODE"] = silentNode,
            ["ALICE_ID"] = alice.Id,
        }, "admin-dashboard-incomplete.e2e.mjs");
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 1", report, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> JsonAsync(HttpClient admin, string path)
    {
        using var response = await admin.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> OverviewAsync(HttpClient admin) =>
        JsonDocument.Parse(await admin.GetStringAsync(new Uri("api/overview", UriKind.Relative))).RootElement.Clone();
}
