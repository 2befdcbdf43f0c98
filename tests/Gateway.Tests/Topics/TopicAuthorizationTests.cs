using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Topics;

public sealed class TopicAuthorizationTests
{
    private static readonly string[] GrantedTopics = ["conversation:conv-1", "news.*"];

    private static async Task<JsonElement> SubscribeAsync(TestClient client, string channel)
    {
        await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}","id":"q"}""");
        return await TopicTests.NextJsonAsync(client);
    }

    private static Dictionary<string, string?> JwtSettings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Topics:Authorization:Templates:0"] = "events.{org_id}.>",
            ["Gateway:Topics:Authorization:Templates:1"] = "user.{sub}",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    [Fact]
    public async Task Without_client_authentication_every_topic_is_open()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        Assert.Equal("subscribed", (await SubscribeAsync(client, ">")).GetProperty("type").GetString());
    }

    [Fact]
    public async Task With_authentication_only_patterns_granted_by_claims_and_templates_are_allowed()
    {
        await using var host = await GatewayHost.StartAsync(JwtSettings());
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "alice", claims: new Dictionary<string, object>
        {
            ["org_id"] = "org_1",
            ["topics"] = GrantedTopics,
        });
        await using var client = await host.ConnectAsync($"/?token={token}");
        foreach (var allowed in new[] { "events.org_1.>", "events.org_1.conversations.*", "events.org_1.x.y", "user.alice", "conversation:conv-1", "news.sport" })
        {
            Assert.True("subscribed" == (await SubscribeAsync(client, allowed)).GetProperty("type").GetString(), allowed);
        }

        foreach (var denied in new[] { "events.>", "events.org_2.x", "events.*.x", "user.bob", "conversation:conv-2", "news.>", ">" })
        {
            var error = await SubscribeAsync(client, denied);
            Assert.True("unauthorized" == error.GetProperty("code").GetString(), denied);
            Assert.Equal("q", error.GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task A_claim_value_cannot_widen_a_template()
    {
        await using var host = await GatewayHost.StartAsync(JwtSettings());
        foreach (var org in new[] { "*", "org_1.>", ">", "a b" })
        {
            var token = TestTokens.Mint(host.Time.GetUtcNow(), "mallory", claims: new Dictionary<string, object> { ["org_id"] = org });
            await using var client = await host.ConnectAsync($"/?token={token}");
            Assert.Equal("unauthorized", (await SubscribeAsync(client, "events.org_2.secret")).GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task AllowAll_opens_every_topic_and_an_anonymous_connection_gets_nothing_without_it()
    {
        await using (var host = await GatewayHost.StartAsync(JwtSettings(("Gateway:Auth:Jwt:Required", "false"))))
        {
            await using var anonymous = await host.ConnectAsync();
            Assert.Equal("unauthorized", (await SubscribeAsync(anonymous, "events.org_1.x")).GetProperty("code").GetString());
        }

        await using (var host = await GatewayHost.StartAsync(JwtSettings(("Gateway:Auth:Jwt:Required", "false"), ("Gateway:Topics:Authorization:AllowAll", "true"))))
        {
            await using var anonymous = await host.ConnectAsync();
            Assert.Equal("subscribed", (await SubscribeAsync(anonymous, "events.>")).GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task The_subscribe_authorizer_decides_what_the_granted_patterns_do_not_cover()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (request, context) =>
        {
            var channel = request.Json.GetProperty("channel").GetString();
            if (channel == "broken")
            {
                context.Response.StatusCode = 500;
                return Task.CompletedTask;
            }

            return context.Response.WriteAsync(channel == "rooms.vip" && request.Json.GetProperty("userId").GetString() == "alice" ? """{"allowed":true}""" : """{"allowed":false}""");
        };
        await using var host = await GatewayHost.StartAsync(JwtSettings(("Gateway:Topics:Authorization:Uri", backend.Url("/can-subscribe").ToString())));
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "alice", claims: new Dictionary<string, object> { ["org_id"] = "org_1" });
        await using var client = await host.ConnectAsync($"/?token={token}");

        Assert.Equal("subscribed", (await SubscribeAsync(client, "events.org_1.x")).GetProperty("type").GetString());
        Assert.Empty(backend.Requests); // covered by a template: the backend is not asked
        Assert.Equal("subscribed", (await SubscribeAsync(client, "rooms.vip")).GetProperty("type").GetString());
        Assert.Equal("unauthorized", (await SubscribeAsync(client, "rooms.staff")).GetProperty("code").GetString());
        Assert.Equal("internal_error", (await SubscribeAsync(client, "broken")).GetProperty("code").GetString());
        var asked = backend.Requests.First().Json;
        Assert.Equal("alice", asked.GetProperty("userId").GetString());
        Assert.Equal("org_1", asked.GetProperty("authorizer").GetProperty("org_id").GetString());
    }
}
