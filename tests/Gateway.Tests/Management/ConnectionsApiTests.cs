using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Management;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Management;

public class ConnectionsApiTests
{
    private static HttpClient Management(GatewayHost host) => new() { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };

    private static Uri Path(string path) => new(path, UriKind.Relative);

    private static StringContent Body(string text) => new(text, Encoding.UTF8, "application/octet-stream");

    [Theory]
    [InlineData("/@connections/{0}")]
    [InlineData("/prod/@connections/{0}")]
    [InlineData("/%40connections/{0}")]
    [InlineData("/prod/%40connections/{0}")]
    [InlineData("//@connections/{0}")]
    [InlineData("/prod//@connections/{0}")]
    [InlineData("/any-stage/@connections/{0}")]
    public async Task A_post_reaches_the_client_by_every_path_form(string template)
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = Management(host);
        // Absolute, so that a leading "//" stays part of the path instead of naming a host.
        var uri = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}{string.Format(System.Globalization.CultureInfo.InvariantCulture, template, client.Id)}");
        var response = await http.PostAsync(uri, Body("pushed"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pushed", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_percent_encoded_id_is_decoded()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = Management(host);
        var encoded = string.Concat(client.Id.Select(c => $"%{(int)c:X2}"));
        var response = await http.PostAsync(Path($"/@connections/{encoded}"), Body("encoded"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("encoded", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Valid_utf8_is_sent_as_text_and_anything_else_as_binary()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = Management(host);
        await http.PostAsync(Path($"/@connections/{client.Id}"), new ByteArrayContent("héllo"u8.ToArray()));
        var text = await client.ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Text, text.Type);
        Assert.Equal("héllo", text.Text);

        byte[] binary = [0xFF, 0x00, 0xC3, 0x28];
        await http.PostAsync(Path($"/@connections/{client.Id}"), new ByteArrayContent(binary));
        var frame = await client.ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Binary, frame.Type);
        Assert.Equal(binary, frame.Data);
    }

    [Fact]
    public async Task Get_describes_the_connection_in_the_managed_service_wire_format()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var anonymous = await host.ConnectAsync();
        await using var browser = await host.ConnectAsync(configure: o => o.SetRequestHeader("User-Agent", "Mozilla/5.0 test"));
        using var http = Management(host);

        var raw = await http.GetStringAsync(Path($"/@connections/{anonymous.Id}"));
        Assert.Equal(
            """{"connectedAt":"2026-01-01T00:00:00.000Z","identity":{"sourceIp":"127.0.0.1","userAgent":null},"lastActiveAt":"2026-01-01T00:00:00.000Z"}""",
            raw);

        host.Advance(TimeSpan.FromSeconds(90));
        await browser.SendTextAsync("activity");
        await browser.ReceiveTextAsync();
        using var doc = JsonDocument.Parse(await http.GetStringAsync(Path($"/prod/@connections/{browser.Id}")));
        Assert.Equal("Mozilla/5.0 test", doc.RootElement.GetProperty("identity").GetProperty("userAgent").GetString());
        Assert.Equal("2026-01-01T00:01:30.000Z", doc.RootElement.GetProperty("lastActiveAt").GetString());
    }

    [Fact]
    public async Task Delete_answers_204_closes_the_client_and_later_calls_find_it_gone()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = Management(host);
        var response = await http.DeleteAsync(Path($"/@connections/{client.Id}"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(CloseCodes.Normal, (await client.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(CloseCodes.Normal, (await host.Events.DisconnectOf(client.Id)).StatusCode);

        foreach (var call in new Func<Task<HttpResponseMessage>>[]
        {
            () => http.PostAsync(Path($"/@connections/{client.Id}"), Body("late")),
            () => http.GetAsync(Path($"/@connections/{client.Id}")),
            () => http.DeleteAsync(Path($"/@connections/{client.Id}")),
        })
        {
            await AssertErrorAsync(await call(), HttpStatusCode.Gone, ManagementErrors.Gone);
        }
    }

    [Theory]
    [InlineData("abc%3D")]
    [InlineData("short")]
    [InlineData("..%2F..%2Fetc%2Fpasswd")]
    [InlineData("aaaaaaaaaaaaaaaaaaa!")]
    public async Task A_malformed_id_is_a_bad_request(string id)
    {
        await using var host = await GatewayHost.StartAsync();
        using var http = Management(host);
        await AssertErrorAsync(await http.PostAsync(Path($"/@connections/{id}"), Body("x")), HttpStatusCode.BadRequest, ManagementErrors.BadRequest);
        await AssertErrorAsync(await http.GetAsync(Path($"/@connections/{id}")), HttpStatusCode.BadRequest, ManagementErrors.BadRequest);
    }

    [Fact]
    public async Task An_unknown_well_formed_id_is_gone()
    {
        await using var host = await GatewayHost.StartAsync();
        using var http = Management(host);
        var node = host.Services.GetRequiredService<GatewayNode>();
        foreach (var id in new[] { node.MintConnectionId(), "AAAAAAAAAAAAAAAAAAAA" })
        {
            await AssertErrorAsync(await http.PostAsync(Path($"/@connections/{id}"), Body("x")), HttpStatusCode.Gone, ManagementErrors.Gone);
        }
    }

    [Fact]
    public async Task A_body_over_the_payload_limit_is_refused_whether_declared_or_streamed()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = Management(host);
        var exactly = new string('a', 128 * 1024);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(Path($"/@connections/{client.Id}"), Body(exactly))).StatusCode);
        Assert.Equal(exactly, await client.ReceiveTextAsync());

        await AssertErrorAsync(await http.PostAsync(Path($"/@connections/{client.Id}"), Body(exactly + "b")), HttpStatusCode.RequestEntityTooLarge, ManagementErrors.PayloadTooLarge);

        var streamed = new StreamContent(new MemoryStream(new byte[200_000]));
        var request = new HttpRequestMessage(HttpMethod.Post, Path($"/@connections/{client.Id}")) { Content = streamed };
        request.Headers.TransferEncodingChunked = true;
        await AssertErrorAsync(await http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge, ManagementErrors.PayloadTooLarge);
        Assert.True(host.Connection(client.Id).IsOpen);
    }

    [Fact]
    public async Task A_client_that_stops_reading_cannot_hold_more_than_the_byte_limit()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:SendQueueByteLimit"] = "262144" });
        await using var slow = await host.ConnectRawAsync(receiveBufferSize: 4096);
        var id = await slow.ReadConnectedAsync();
        using var http = Management(host);
        var payload = new string('x', 100 * 1024);
        HttpResponseMessage response;
        var posts = 0;
        do
        {
            response = await http.PostAsync(Path($"/@connections/{id}"), Body(payload));
            posts++;
        }
        while (response.StatusCode == HttpStatusCode.OK && posts < 500);

        // Far fewer than the 1000-message count limit: the bytes ran out first.
        Assert.True(posts < 200, $"{posts} posts of 100 KB were accepted");
        await AssertErrorAsync(response, HttpStatusCode.TooManyRequests, ManagementErrors.LimitExceeded);
    }

    [Fact]
    public async Task A_full_send_queue_answers_429_then_410()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:SendQueueLimit"] = "4" });
        await using var slow = await host.ConnectRawAsync(receiveBufferSize: 4096);
        var id = await slow.ReadConnectedAsync();
        using var http = Management(host);
        var payload = new string('x', 64 * 1024);
        HttpResponseMessage response;
        var posts = 0;
        do
        {
            response = await http.PostAsync(Path($"/@connections/{id}"), Body(payload));
            posts++;
        }
        while (response.StatusCode == HttpStatusCode.OK && posts < 2000);

        await AssertErrorAsync(response, HttpStatusCode.TooManyRequests, ManagementErrors.LimitExceeded);
        await AssertErrorAsync(await http.PostAsync(Path($"/@connections/{id}"), Body("x")), HttpStatusCode.Gone, ManagementErrors.Gone);
    }

    [Fact]
    public async Task The_node_list_pages_through_every_connection_of_the_node_in_id_order_with_a_count()
    {
        await using var host = await GatewayHost.StartAsync();
        var clients = await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => host.ConnectAsync()));
        using var http = Management(host);
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync(Path($"/@connections?scope=node&limit=10{(cursor is null ? "" : "&cursor=" + cursor)}")));
            Assert.Equal(25, doc.RootElement.GetProperty("count").GetInt32());
            var items = doc.RootElement.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count <= 10);
            seen.AddRange(items.Select(i => i.GetProperty("connectionId").GetString()!));
            Assert.All(items, i => Assert.Equal("127.0.0.1", i.GetProperty("identity").GetProperty("sourceIp").GetString()));
            cursor = doc.RootElement.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(clients.Select(c => c.Id).Order(StringComparer.Ordinal), seen);
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_management_api_is_not_served_on_the_client_listener()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}") };
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync(Path($"/@connections/{client.Id}"), Body("x"))).StatusCode);
        Assert.False(client.HasFrame);
    }

    [Fact]
    public async Task Unknown_management_paths_are_not_found()
    {
        await using var host = await GatewayHost.StartAsync();
        using var http = Management(host);
        await AssertErrorAsync(await http.GetAsync(Path("/@nothing/x")), HttpStatusCode.NotFound, ManagementErrors.NotFound);
        await AssertErrorAsync(await http.PostAsync(Path("/@connections"), Body("x")), HttpStatusCode.NotFound, ManagementErrors.NotFound);

        // Paths that are not management paths at all are left to the rest of the application.
        var other = await http.GetAsync(Path("/a/b/c/d"));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.False(other.Headers.Contains("x-amzn-ErrorType"));
        await AssertErrorAsync(await http.PutAsync(Path("/@connections/AAAAAAAAAAAAAAAAAAAA"), Body("x")), HttpStatusCode.MethodNotAllowed, ManagementErrors.MethodNotAllowed);
    }

    [Fact]
    public async Task Health_probes_answer_GET_and_HEAD()
    {
        await using var host = await GatewayHost.StartAsync();
        using var http = Management(host);
        foreach (var path in new[] { "/healthz", "/readyz" })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, Path(path)))).StatusCode);
        }
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.9")]
    [InlineData("Forwarded", "for=203.0.113.9")]
    [InlineData("X-Real-IP", "203.0.113.9")]
    public async Task A_forwarded_call_is_never_taken_as_local(string header, string value)
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:TrustedProxies:0"] = "127.0.0.1" });
        await using var client = await host.ConnectAsync();
        using var http = Management(host);
        var request = new HttpRequestMessage(HttpMethod.Get, Path("/@connections"));
        request.Headers.TryAddWithoutValidation(header, value);
        await AssertErrorAsync(await http.SendAsync(request), HttpStatusCode.Forbidden, ManagementErrors.Forbidden);
        var push = new HttpRequestMessage(HttpMethod.Post, Path($"/@connections/{client.Id}")) { Content = Body("x") };
        push.Headers.TryAddWithoutValidation(header, value);
        await AssertErrorAsync(await http.SendAsync(push), HttpStatusCode.Forbidden, ManagementErrors.Forbidden);
        Assert.False(client.HasFrame);
    }

    [Fact]
    public void Anonymous_calls_are_accepted_from_loopback_only_unless_allowed()
    {
        static HttpContext From(string address, string host = "localhost:8081")
        {
            var context = new DefaultHttpContext { Connection = { RemoteIpAddress = IPAddress.Parse(address) } };
            context.Request.Host = new HostString(host);
            return context;
        }

        var closed = new ManagementAccess(Options.Create(new GatewayOptions()), TimeProvider.System);
        Assert.Null(closed.Refusal(From("127.0.0.1"), []));
        Assert.Null(closed.Refusal(From("::1", "[::1]:8081"), []));
        Assert.Null(closed.Refusal(From("127.0.0.1", "127.0.0.1:8081"), []));

        // A name that was made to point at 127.0.0.1 (DNS rebinding) is not this machine.
        Assert.NotNull(closed.Refusal(From("127.0.0.1", "evil.example:8081"), []));
        Assert.NotNull(closed.Refusal(From("10.1.2.3"), []));
        Assert.NotNull(closed.Refusal(From("192.168.1.1"), []));
        var open = new ManagementAccess(Options.Create(new GatewayOptions { Management = { AllowAnonymous = true } }), TimeProvider.System);
        Assert.Null(open.Refusal(From("10.1.2.3"), []));

        // Once credentials exist, anonymous calls need AllowAnonymous even from loopback.
        var keyed = new GatewayOptions();
        keyed.Management.ApiKeys.Add("k");
        Assert.NotNull(new ManagementAccess(Options.Create(keyed), TimeProvider.System).Refusal(From("127.0.0.1"), []));
    }

    [Fact]
    public void Management_paths_parse_with_or_without_a_stage()
    {
        Assert.True(ManagementRequest.TryParse("/@connections/abc", out var a));
        Assert.Equal(new ManagementRequest("@connections", "abc"), a);
        Assert.True(ManagementRequest.TryParse("//prod//@connections", out var b));
        Assert.Equal(new ManagementRequest("@connections", null), b);
        Assert.False(ManagementRequest.TryParse("/prod/x/@connections/abc", out _));
        Assert.False(ManagementRequest.TryParse("/", out _));
        Assert.False(ManagementRequest.TryParse("/@connections/a/b", out _));
        Assert.True(ManagementRequest.TryParse("/prod/@topics/a.b", out var c));
        Assert.Equal(new ManagementRequest("@topics", "a.b"), c);
        Assert.False(ManagementRequest.TryParse("/a/b/c/d/e", out _));
    }

    [Fact]
    public void A_management_path_names_its_resource_whatever_its_stage_and_slashes()
    {
        Assert.True(ManagementRequest.Names("/@batch", "@batch"));
        Assert.True(ManagementRequest.Names("//prod//@batch/", "@batch"));
        Assert.False(ManagementRequest.Names("/@batches", "@batch"));
        Assert.False(ManagementRequest.Names("/@connections/abc", "@batch"));
        Assert.False(ManagementRequest.Names("/prod/x/@batch", "@batch"));
        Assert.False(ManagementRequest.Names(null, "@batch"));
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string errorType)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(errorType, response.Headers.GetValues("x-amzn-ErrorType").Single());
        Assert.Equal(new MediaTypeHeaderValue("application/json"), response.Content.Headers.ContentType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("message").GetString()));
    }
}
