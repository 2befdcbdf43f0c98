using System.Net;
using System.Text.Json;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Management;
using Gateway.Tests.Topics;

namespace Gateway.Tests.Presence;

/// <summary>Presence on one node: members, join and leave frames, the presence command, limits and the management view.</summary>
public sealed class PresenceTests
{
    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:Presence:0:Pattern"] = "room.*",
            ["Gateway:Topics:Presence:0:MaxMembers"] = "3",
            ["Gateway:Topics:Presence:InfoClaims:0"] = "name",
            ["Gateway:Topics:Presence:InfoClaims:1"] = "role",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static Task<TestClient> ConnectAsync(GatewayHost host, string user, string name) =>
        host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), user, claims: new Dictionary<string, object> { ["name"] = name, ["email"] = user + "@example.com" })}");

    private static async Task<JsonElement> AskAsync(TestClient client, string channel)
    {
        await client.SendTextAsync($$"""{"action":"presence","channel":"{{channel}}","id":"p"}""");
        return await TopicTests.NextJsonAsync(client);
    }

    [Fact]
    public async Task Subscribers_see_members_join_and_leave_with_their_claims_and_ask_for_the_members()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        await using var ann = await ConnectAsync(host, "ann", "Ann");
        await using var bob = await ConnectAsync(host, "bob", "Bob");
        await using var anonymous = await host.ConnectAsync();
        await ManagementCalls.SubscribeAsync("room.1", ann);

        await ManagementCalls.SubscribeAsync("room.1", bob);
        Assert.Equal($$$$"""{"type":"join","channel":"room.1","member":{"connectionId":"{{{{bob.Id}}}}","userId":"bob","info":{"name":"Bob"}}}""", await ann.ReceiveTextAsync());
        await ManagementCalls.SubscribeAsync("room.1", anonymous);
        var anonymousJoin = $$$$"""{"type":"join","channel":"room.1","member":{"connectionId":"{{{{anonymous.Id}}}}","userId":null,"info":null}}""";
        Assert.Equal(anonymousJoin, await ann.ReceiveTextAsync());
        Assert.Equal(anonymousJoin, await bob.ReceiveTextAsync());

        var answer = await AskAsync(bob, "room.1");
        Assert.Equal("presence", answer.GetProperty("type").GetString());
        Assert.Equal("room.1", answer.GetProperty("channel").GetString());
        Assert.Equal("p", answer.GetProperty("id").GetString());
        Assert.Equal(3, answer.GetProperty("count").GetInt32());
        Assert.True(answer.GetProperty("full").GetBoolean());
        Assert.Equal(new[] { ann.Id, bob.Id, anonymous.Id }.Order(StringComparer.Ordinal), answer.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("connectionId").GetString()!).Order(StringComparer.Ordinal));

        // Unsubscribing and closing are leaves, once each; the one who leaves is not told.
        await anonymous.SendTextAsync("""{"action":"unsubscribe","channel":"room.1"}""");
        Assert.Equal("""{"type":"unsubscribed","channel":"room.1"}""", await anonymous.ReceiveTextAsync());
        var anonymousLeave = anonymousJoin.Replace("\"join\"", "\"leave\"", StringComparison.Ordinal);
        Assert.Equal(anonymousLeave, await ann.ReceiveTextAsync());
        Assert.Equal(anonymousLeave, await bob.ReceiveTextAsync());
        await bob.CloseAsync();
        Assert.Equal($$$$"""{"type":"leave","channel":"room.1","member":{"connectionId":"{{{{bob.Id}}}}","userId":"bob","info":{"name":"Bob"}}}""", await ann.ReceiveTextAsync());
        Assert.Equal(1, (await AskAsync(ann, "room.1")).GetProperty("count").GetInt32());
        await ManagementCalls.AssertNothingMoreAsync(ann, anonymous);
    }

    [Fact]
    public async Task Past_MaxMembers_a_subscribe_works_but_makes_no_member_and_patterns_hear_but_are_not_members()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        var clients = new List<TestClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                clients.Add(await host.ConnectAsync());
            }

            await using var watcher = await host.ConnectAsync();
            await ManagementCalls.SubscribeAsync("room.*", watcher);
            foreach (var client in clients)
            {
                await ManagementCalls.SubscribeAsync("room.full", client);
            }

            // Three joins reach the pattern's subscriber; the fourth subscriber is no member.
            for (var i = 0; i < 3; i++)
            {
                var join = await TopicTests.NextJsonAsync(watcher);
                Assert.Equal("join", join.GetProperty("type").GetString());
                Assert.Equal(clients[i].Id, join.GetProperty("member").GetProperty("connectionId").GetString());
            }

            var answer = await AskAsync(clients[3], "room.full");
            Assert.Equal(3, answer.GetProperty("count").GetInt32());
            Assert.True(answer.GetProperty("full").GetBoolean());
            Assert.DoesNotContain(answer.GetProperty("members").EnumerateArray(), m => m.GetProperty("connectionId").GetString() == clients[3].Id);
            var topic = await ManagementCalls.GetJsonAsync(host, "/@topics/room.full");
            Assert.Equal(5, topic.GetProperty("subscribers").GetInt32());
            Assert.Equal(3, topic.GetProperty("members").GetArrayLength());

            // The one that never was a member leaves without a word; a member's leave is heard.
            await clients[3].CloseAsync();
            await clients[0].CloseAsync();
            var leave = await TopicTests.NextJsonAsync(watcher);
            Assert.Equal("leave", leave.GetProperty("type").GetString());
            Assert.Equal(clients[0].Id, leave.GetProperty("member").GetProperty("connectionId").GetString());
            await ManagementCalls.AssertNothingMoreAsync(watcher);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private sealed class ConnectWithInfo : IGatewayRouteHandler
    {
        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context) =>
            ValueTask.FromResult(RouteResult.Accept() with { PresenceInfo = JsonSerializer.SerializeToElement(new { avatar = "a.png", level = 3 }) });
    }

    [Fact]
    public async Task What_connect_returned_is_the_members_info_and_a_server_side_subscribe_makes_a_member()
    {
        await using var host = await GatewayHost.StartAsync(Settings(), gateway: g => g.MapRoute<ConnectWithInfo>("$connect"));
        await using var watcher = await host.ConnectAsync();
        await using var member = await host.ConnectAsync();
        await ManagementCalls.SubscribeAsync("room.2", watcher);

        var put = await SubscriptionsApiTests.CallAsync(host, HttpMethod.Put, $"/@connections/{member.Id}/topics/room.2");
        Assert.Equal(HttpStatusCode.NoContent, put.Status);
        Assert.Equal("""{"type":"subscribed","channel":"room.2","by":"server"}""", await member.ReceiveTextAsync());
        Assert.Equal($$$$"""{"type":"join","channel":"room.2","member":{"connectionId":"{{{{member.Id}}}}","userId":null,"info":{"avatar":"a.png","level":3}}}""", await watcher.ReceiveTextAsync());
        var topic = await ManagementCalls.GetJsonAsync(host, "/@topics/room.2");
        Assert.Contains(topic.GetProperty("members").EnumerateArray(), m => m.GetProperty("connectionId").GetString() == member.Id && m.GetProperty("info").GetProperty("level").GetInt32() == 3);

        Assert.Equal(HttpStatusCode.NoContent, (await SubscriptionsApiTests.CallAsync(host, HttpMethod.Delete, $"/@connections/{member.Id}/topics/room.2")).Status);
        Assert.Equal("leave", (await TopicTests.NextJsonAsync(watcher)).GetProperty("type").GetString());

        var metrics = await new HttpClient().GetStringAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/metrics"));
        Assert.Contains("gateway_presence_members", metrics, StringComparison.Ordinal);
        // Every host of this test process reports into the same meter name, and a host started while another one was
        // running can list that one's series as well: the joins counted across them are at least this host's one.
        var joins = metrics.Split('\n').Where(l => l.StartsWith("gateway_presence_changes_total{otel_scope_name=\"Gateway\",kind=\"join\"} ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(joins);
        Assert.True(joins.Sum(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)) >= 1, string.Join('\n', joins));
    }

    [Fact]
    public async Task The_presence_command_refuses_patterns_topics_without_presence_and_unauthorized_ones()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Topics:Authorization:AllowAll", "false")));
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), "carl", claims: new Dictionary<string, object> { ["topics"] = "room.open news.today" })}");
        foreach (var (body, code) in new[]
        {
            ("""{"action":"presence","id":1}""", "invalid_request"),
            ("""{"action":"presence","channel":"room.*","id":1}""", "invalid_request"),
            ("""{"action":"presence","channel":"news.today","id":1}""", "invalid_request"),
            ("""{"action":"presence","channel":"room.closed","id":1}""", "unauthorized"),
            ("""{"action":"presence","channel":"room.open","since":3,"id":1}""", "invalid_request"),
        })
        {
            await client.SendTextAsync(body);
            var error = await TopicTests.NextJsonAsync(client);
            Assert.Equal("error", error.GetProperty("type").GetString());
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Equal(1, error.GetProperty("id").GetInt32());
        }
    }

    [Fact]
    public async Task Without_presence_the_command_is_an_unknown_action_and_topics_answer_no_members()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Topics:Authorization:AllowAll"] = "true" });
        await using var client = await host.ConnectAsync();
        await ManagementCalls.SubscribeAsync("room.1", client);
        await client.SendTextAsync("""{"action":"presence","channel":"room.1"}""");
        var answer = await TopicTests.NextJsonAsync(client);
        Assert.False(answer.TryGetProperty("type", out var type) && type.GetString() == "presence", answer.ToString());
        Assert.False((await ManagementCalls.GetJsonAsync(host, "/@topics/room.1")).TryGetProperty("members", out _));
    }
}
