using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Connections;
using Gateway.Management;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Management;

/// <summary>The listings and lookups of the management API on one node: connections, users and topics.</summary>
public class ClusterQueriesApiTests(SharedHost<ClusterQueriesApiTests> shared) : IClassFixture<SharedHost<ClusterQueriesApiTests>>, IHostSettings
{
    /// <inheritdoc />
    public static Dictionary<string, string?> HostSettings => new(Settings);

    /// <inheritdoc />
    public static bool RealClock => true;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
        ["Gateway:Auth:Jwt:Required"] = "false",
        ["Gateway:Topics:Authorization:AllowAll"] = "true",
    };

    internal static HttpClient Management(GatewayHost host) => new() { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };

    internal static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(GatewayHost host, HttpMethod method, string path)
    {
        using var http = Management(host);
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        using var response = await http.SendAsync(request).WithTimeout();
        var text = await response.Content.ReadAsStringAsync().WithTimeout();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    internal static Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(GatewayHost host, string path) => SendAsync(host, HttpMethod.Get, path);

    internal static async Task<(HttpStatusCode Status, string Body)> HeadAsync(GatewayHost host, string path)
    {
        using var http = Management(host);
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative));
        using var response = await http.SendAsync(request).WithTimeout();
        return (response.StatusCode, await response.Content.ReadAsStringAsync().WithTimeout());
    }

    internal static async Task SubscribeAsync(TestClient client, string channel)
    {
        await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
        Assert.Contains("\"subscribed\"", await client.ReceiveTextAsync(), StringComparison.Ordinal);
    }

    private static Task<TestClient> UserAsync(GatewayHost host, string user) => host.ConnectAsync($"/?token={TestTokens.Mint(DateTimeOffset.UtcNow, user)}");

    private static async Task AssertBadRequestAsync(GatewayHost host, HttpMethod method, string path, string naming)
    {
        using var http = Management(host);
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        using var response = await http.SendAsync(request).WithTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ManagementErrors.BadRequest, response.Headers.GetValues("x-amzn-ErrorType").Single());
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString();
        Assert.Contains(naming, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_connection_list_pages_through_every_connection_with_its_node_and_user()
    {
        await using var host = await GatewayHost.StartAsync(Settings, realClock: true);
        var node = host.Services.GetRequiredService<GatewayNode>().Id;
        var clients = new List<TestClient> { await UserAsync(host, "alice"), await UserAsync(host, "alice"), await UserAsync(host, "bob") };
        clients.AddRange(await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => host.ConnectAsync())));
        await SubscribeAsync(clients[0], "room.a");
        await SubscribeAsync(clients[3], "room.*");

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var (status, body) = await GetAsync(host, "/@connections?limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(7, body.GetProperty("count").GetInt32());
            Assert.True(body.GetProperty("complete").GetBoolean());
            Assert.False(body.TryGetProperty("missingNodes", out _));
            var items = body.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 3);
            Assert.All(items, i => Assert.Equal(node, i.GetProperty("node").GetString()));
            Assert.All(items, i => Assert.EndsWith("Z", i.GetProperty("connectedAt").GetString(), StringComparison.Ordinal));
            seen.AddRange(items.Select(i => i.GetProperty("connectionId").GetString()!));
            cursor = body.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(clients.Select(c => c.Id).Order(StringComparer.Ordinal), seen);

        var (_, alice) = await GetAsync(host, "/@connections?userId=alice");
        Assert.Equal(2, alice.GetProperty("count").GetInt32());
        Assert.Equal(clients.Take(2).Select(c => c.Id).Order(StringComparer.Ordinal), alice.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("connectionId").GetString()));
        Assert.All(alice.GetProperty("items").EnumerateArray(), i => Assert.Equal("alice", i.GetProperty("userId").GetString()));
        Assert.Equal(JsonValueKind.Null, alice.GetProperty("nextCursor").ValueKind);

        var (_, room) = await GetAsync(host, "/@connections?topic=room.a");
        Assert.Equal(new[] { clients[0].Id, clients[3].Id }.Order(StringComparer.Ordinal), room.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("connectionId").GetString()));
        var (_, both) = await GetAsync(host, "/@connections?topic=room.a&userId=alice");
        Assert.Equal(clients[0].Id, both.GetProperty("items").EnumerateArray().Single().GetProperty("connectionId").GetString());
        var (_, anonymous) = await GetAsync(host, "/@connections?limit=1000&topic=room.a");
        Assert.Equal(JsonValueKind.Null, anonymous.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("connectionId").GetString() == clients[3].Id).GetProperty("userId").ValueKind);

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/@connections?limit=0", "limit")]
    [InlineData("/@connections?limit=1001", "limit")]
    [InlineData("/@connections?limit=ten", "limit")]
    [InlineData("/@connections?cursor=***", "cursor")]
    [InlineData("/@connections?cursor=bm90LWFuLWlk", "cursor")]
    [InlineData("/@connections?userId=", "userId")]
    [InlineData("/@connections?topic=room.*", "topic")]
    [InlineData("/@connections?scope=planet", "scope")]
    [InlineData("/@topics?limit=-1", "limit")]
    [InlineData("/@topics?cursor=%25%25", "cursor")]
    [InlineData("/@topics/room.*", "topic")]
    public async Task A_bad_listing_or_lookup_is_a_bad_request_naming_the_problem(string path, string naming)
    {
        await AssertBadRequestAsync(shared.Host, HttpMethod.Get, path, naming);
    }

    [Theory]
    [InlineData("/@users/alice?code=1001", "code")]
    [InlineData("/@users/alice?code=5000", "code")]
    [InlineData("/@users/alice?code=2999", "code")]
    [InlineData("/@users/alice?code=abc", "code")]
    [InlineData("/@users/alice?reason=" + "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123", "reason")]
    [InlineData("/@users/%01", "userId")]
    public async Task A_bad_user_delete_is_a_bad_request_naming_the_problem(string path, string naming)
    {
        await using var host = await GatewayHost.StartAsync(Settings, realClock: true);
        await using var alice = await UserAsync(host, "alice");
        await AssertBadRequestAsync(host, HttpMethod.Delete, path, naming);
        Assert.Equal(1, host.Registry.Count);
    }

    [Fact]
    public async Task Head_of_a_connection_is_200_while_it_is_live_and_410_once_it_is_gone_without_a_body()
    {
        await using var host = await GatewayHost.StartAsync(Settings, realClock: true);
        var client = await host.ConnectAsync();
        Assert.Equal((HttpStatusCode.OK, ""), await HeadAsync(host, $"/@connections/{client.Id}"));
        Assert.Equal((HttpStatusCode.OK, ""), await HeadAsync(host, $"/prod/@connections/{client.Id}"));
        await client.DisposeAsync();
        await Wait.UntilAsync(() => host.Registry.Count == 0, "the client left");
        Assert.Equal((HttpStatusCode.Gone, ""), await HeadAsync(host, $"/@connections/{client.Id}"));
        Assert.Equal(HttpStatusCode.BadRequest, (await HeadAsync(host, "/@connections/not-an-id")).Status);
    }

    [Fact]
    public async Task A_user_is_described_checked_and_closed_with_the_code_and_reason()
    {
        await using var host = await GatewayHost.StartAsync(Settings, realClock: true);
        var node = host.Services.GetRequiredService<GatewayNode>().Id;
        await using var one = await UserAsync(host, "alice");
        await using var two = await UserAsync(host, "alice");
        await using var bob = await UserAsync(host, "bob");

        var (status, body) = await GetAsync(host, "/@users/alice");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.GetProperty("count").GetInt32());
        Assert.True(body.GetProperty("complete").GetBoolean());
        var items = body.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(new[] { one.Id, two.Id }.Order(StringComparer.Ordinal), items.Select(i => i.GetProperty("connectionId").GetString()));
        Assert.All(items, i => Assert.Equal(node, i.GetProperty("node").GetString()));
        Assert.All(items, i => Assert.True(i.TryGetProperty("connectedAt", out _)));

        var (_, nobody) = await GetAsync(host, "/@users/nobody");
        Assert.Equal(0, nobody.GetProperty("count").GetInt32());
        Assert.Empty(nobody.GetProperty("items").EnumerateArray());
        Assert.Equal((HttpStatusCode.OK, ""), await HeadAsync(host, "/@users/alice"));
        Assert.Equal((HttpStatusCode.NotFound, ""), await HeadAsync(host, "/@users/nobody"));

        var (deleted, closed) = await SendAsync(host, HttpMethod.Delete, "/@users/alice?code=4001&reason=signed%20out");
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Equal(2, closed.GetProperty("closed").GetInt32());
        foreach (var client in new[] { one, two })
        {
            var frame = await client.Closed.WithTimeout();
            Assert.Equal(4001, frame.CloseStatus);
            Assert.Equal("signed out", frame.CloseReason);
            Assert.Equal(4001, (await host.Events.DisconnectOf(client.Id)).StatusCode);
        }

        Assert.Equal((HttpStatusCode.NotFound, ""), await HeadAsync(host, "/@users/alice"));
        Assert.Equal(0, (await SendAsync(host, HttpMethod.Delete, "/@users/alice")).Body.GetProperty("closed").GetInt32());
        await bob.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await bob.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_user_delete_closes_with_1000_by_default()
    {
        await using var host = await GatewayHost.StartAsync(Settings, realClock: true);
        await using var alice = await UserAsync(host, "alice");
        Assert.Equal(1, (await SendAsync(host, HttpMethod.Delete, "/@users/alice")).Body.GetProperty("closed").GetInt32());
        Assert.Equal(1000, (await alice.Closed.WithTimeout()).CloseStatus);
    }

    [Fact]
    public async Task Topics_are_counted_checked_and_listed_a_page_at_a_time()
    {
        await using var host = await GatewayHost.StartAsync(Settings, realClock: true);
        await using var a = await host.ConnectAsync();
        await using var b = await host.ConnectAsync();
        await SubscribeAsync(a, "room.a");
        await SubscribeAsync(b, "room.a");
        await SubscribeAsync(b, "room.*");
        await SubscribeAsync(a, "room.b");
        await SubscribeAsync(a, "lobby");

        var (status, topic) = await GetAsync(host, "/@topics/room.a");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("room.a", topic.GetProperty("channel").GetString());
        Assert.Equal(2, topic.GetProperty("subscribers").GetInt32());
        Assert.False(topic.TryGetProperty("members", out _));
        Assert.Equal(0, (await GetAsync(host, "/@topics/empty")).Body.GetProperty("subscribers").GetInt32());
        Assert.Equal((HttpStatusCode.OK, ""), await HeadAsync(host, "/@topics/room.c"));
        Assert.Equal((HttpStatusCode.NotFound, ""), await HeadAsync(host, "/@topics/empty"));

        var (_, all) = await GetAsync(host, "/@topics");
        Assert.Equal(["lobby", "room.*", "room.a", "room.b"], all.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()));
        Assert.Equal([1, 1, 2, 1], all.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("subscribers").GetInt32()));
        Assert.Equal(4, all.GetProperty("count").GetInt32());
        Assert.True(all.GetProperty("complete").GetBoolean());

        var channels = new List<string>();
        string? cursor = null;
        do
        {
            var (_, page) = await GetAsync(host, "/@topics?prefix=room.&limit=2" + (cursor is null ? "" : "&cursor=" + cursor));
            channels.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(["room.*", "room.a", "room.b"], channels);
        Assert.Equal(Base64Url.EncodeToString(Encoding.UTF8.GetBytes("room.a")), (await GetAsync(host, "/@topics?prefix=room.&limit=2")).Body.GetProperty("nextCursor").GetString());

        await a.SendTextAsync("""{"action":"unsubscribe","channel":"lobby"}""");
        await a.ReceiveTextAsync();
        Assert.DoesNotContain("lobby", (await GetAsync(host, "/@topics")).Body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("channel").GetString()));
    }
}
