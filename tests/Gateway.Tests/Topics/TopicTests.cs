using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;
using Gateway.Topics;
using Gateway.Backplane;

namespace Gateway.Tests.Topics;

public sealed class TopicTests
{
    internal static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(GatewayHost host, string path, string body, string contentType = "application/json")
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, contentType));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    internal static async Task<JsonElement> NextJsonAsync(TestClient client) => JsonDocument.Parse(await client.ReceiveTextAsync()).RootElement;

    [Fact]
    public async Task Subscribe_publish_unsubscribe_and_ping_with_ids_echoed()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"subscribe","channel":"conversation:conv-123","id":"s1"}""");
        var subscribed = await NextJsonAsync(client);
        Assert.Equal("subscribed", subscribed.GetProperty("type").GetString());
        Assert.Equal("conversation:conv-123", subscribed.GetProperty("channel").GetString());
        Assert.Equal("s1", subscribed.GetProperty("id").GetString());

        var (status, answer) = await PostAsync(host, "/@topics/conversation:conv-123", """{"type":"message_posted","data":{"text":"hi","n":[1,2]}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, answer.GetProperty("delivered").GetInt32());
        var received = await client.ReceiveTextAsync();
        Assert.Equal("""{"type":"message_posted","channel":"conversation:conv-123","data":{"text":"hi","n":[1,2]}}""", received);

        await client.SendTextAsync("""{"action":"ping","id":7}""");
        Assert.Equal("""{"type":"pong","id":7}""", await client.ReceiveTextAsync());

        await client.SendTextAsync("""{"action":"unsubscribe","channel":"conversation:conv-123","id":"u1"}""");
        Assert.Equal("""{"type":"unsubscribed","channel":"conversation:conv-123","id":"u1"}""", await client.ReceiveTextAsync());
        Assert.Equal(0, (await PostAsync(host, "/@topics/conversation:conv-123", """{"type":"x"}""")).Body.GetProperty("delivered").GetInt32());
        Assert.Equal(0, host.Services.GetRequiredService<TopicHub>().SubscriptionCount);
    }

    [Fact]
    public async Task Clients_that_name_commands_in_type_are_served_with_the_type_selection_expression()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:RouteSelectionExpression"] = "$request.body.type" });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"type":"subscribe","data":{"channel":"conversation:conv-123"},"id":"a"}""");
        Assert.Equal("""{"type":"subscribed","channel":"conversation:conv-123","id":"a"}""", await client.ReceiveTextAsync());
        await PostAsync(host, "/@topics/conversation:conv-123?type=message_posted", "plain text body", "text/plain");
        Assert.Equal("""{"type":"message_posted","channel":"conversation:conv-123","data":"plain text body"}""", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"type":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"type":"unsubscribe","data":{"channel":"conversation:conv-123"}}""");
        Assert.Equal("unsubscribed", (await NextJsonAsync(client)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Wildcards_match_and_a_connection_gets_each_event_once_however_many_patterns_match()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var many = await host.ConnectAsync();
        await using var star = await host.ConnectAsync();
        await using var other = await host.ConnectAsync();
        foreach (var pattern in new[] { "events.org_1.>", "events.*.conversations.message_posted.*", "events.org_1.conversations.message_posted.conv_9" })
        {
            await many.SendTextAsync($$"""{"action":"subscribe","channel":"{{pattern}}"}""");
            await many.ReceiveTextAsync();
        }

        await star.SendTextAsync("""{"action":"subscribe","channel":"events.*.conversations.>"}""");
        await star.ReceiveTextAsync();
        await other.SendTextAsync("""{"action":"subscribe","channel":"events.org_2.>"}""");
        await other.ReceiveTextAsync();

        var (_, answer) = await PostAsync(host, "/@topics/events.org_1.conversations.message_posted.conv_9", """{"type":"message_posted","data":1}""");
        Assert.Equal(2, answer.GetProperty("delivered").GetInt32());
        Assert.Equal(1, (await NextJsonAsync(many)).GetProperty("data").GetInt32());
        Assert.Equal(1, (await NextJsonAsync(star)).GetProperty("data").GetInt32());

        // The next thing each receives is the next event, proving no duplicate came in between.
        await PostAsync(host, "/@topics/events.org_1.x", """{"type":"t","data":2}""");
        await PostAsync(host, "/@topics/events.org_2.conversations.y", """{"type":"t","data":3}""");
        Assert.Equal(2, (await NextJsonAsync(many)).GetProperty("data").GetInt32());
        Assert.Equal(3, (await NextJsonAsync(star)).GetProperty("data").GetInt32());
        Assert.Equal(3, (await NextJsonAsync(other)).GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task Bad_subscribes_get_error_frames_with_their_ids_and_the_connection_stays_open()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Topics:MaxSubscriptionsPerConnection"] = "2",
            ["Gateway:Topics:MaxTopicLength"] = "40",
        });
        await using var client = await host.ConnectAsync();
        async Task<JsonElement> Ask(string body)
        {
            await client.SendTextAsync(body);
            return await NextJsonAsync(client);
        }

        var cases = new (string Body, string Code)[]
        {
            ("""{"action":"subscribe","id":1}""", "invalid_request"),
            ("""{"action":"subscribe","channel":"","id":2}""", "invalid_request"),
            ("""{"action":"subscribe","channel":"a.>.b","id":3}""", "invalid_request"),
            ("""{"action":"subscribe","channel":"a b","id":4}""", "invalid_request"),
            ($$"""{"action":"subscribe","channel":"{{new string('a', 41)}}","id":5}""", "subscription_failed"),
            ("""{"action":"unsubscribe","id":6}""", "invalid_request"),
        };
        foreach (var (body, code) in cases)
        {
            var error = await Ask(body);
            Assert.Equal("error", error.GetProperty("type").GetString());
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Equal(JsonValueKind.Number, error.GetProperty("id").ValueKind);
        }

        Assert.Equal("subscribed", (await Ask("""{"action":"subscribe","channel":"a"}""")).GetProperty("type").GetString());
        Assert.Equal("subscribed", (await Ask("""{"action":"subscribe","channel":"a"}""")).GetProperty("type").GetString());
        Assert.Equal("subscribed", (await Ask("""{"action":"subscribe","channel":"b"}""")).GetProperty("type").GetString());
        Assert.Equal("subscription_failed", (await Ask("""{"action":"subscribe","channel":"c","id":"x"}""")).GetProperty("code").GetString());
        Assert.Equal("pong", (await Ask("""{"action":"ping"}""")).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Subscriptions_are_removed_when_the_connection_closes()
    {
        await using var host = await GatewayHost.StartAsync();
        var hub = host.Services.GetRequiredService<TopicHub>();
        await using (var client = await host.ConnectAsync())
        {
            foreach (var pattern in new[] { "a", "a.>", "b.*" })
            {
                await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{pattern}}"}""");
                await client.ReceiveTextAsync();
            }

            Assert.Equal(3, hub.SubscriptionCount);
            await client.CloseAsync();
            await host.Events.DisconnectOf(client.Id);
        }

        await Wait.UntilAsync(() => hub.SubscriptionCount == 0, "the closed connection's subscriptions were removed");
    }

    [Fact]
    public async Task Publishing_validates_its_input_and_sends_to_users_and_to_everyone()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
        };
        await using var host = await GatewayHost.StartAsync(settings);
        var now = host.Time.GetUtcNow();
        await using var aliceOne = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var aliceTwo = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var bob = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "bob")}");
        await using var anonymous = await host.ConnectAsync();

        var (status, answer) = await PostAsync(host, "/@users/alice", """{"type":"notice","data":"for alice"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, answer.GetProperty("delivered").GetInt32());
        Assert.Equal("""{"type":"notice","data":"for alice"}""", await aliceOne.ReceiveTextAsync());
        Assert.Equal("""{"type":"notice","data":"for alice"}""", await aliceTwo.ReceiveTextAsync());
        Assert.Equal(0, (await PostAsync(host, "/prod/@users/nobody", "x", "text/plain")).Body.GetProperty("delivered").GetInt32());

        Assert.Equal(4, (await PostAsync(host, "/@broadcast", "to all", "text/plain")).Body.GetProperty("delivered").GetInt32());
        foreach (var client in new[] { aliceOne, aliceTwo, bob, anonymous })
        {
            Assert.Equal("to all", await client.ReceiveTextAsync());
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(host, "/@topics/a.*", """{"type":"t"}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(host, "/@topics/a", """{"data":1}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(host, "/@topics/a", "not json", "text/plain")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(host, "/@topics", """{"type":"t"}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(host, "/@broadcast/x", "x")).Status);
        using var http = new HttpClient();
        // A GET describes the topic (it was a 405 before topics could be read back).
        var get = await http.GetAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/@topics/a"));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("""{"channel":"a","subscribers":0,"complete":true}""", await get.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task In_process_handlers_publish_through_IGatewayPublisher()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<PublishingHandler>("announce"));
        await using var listener = await host.ConnectAsync();
        await using var speaker = await host.ConnectAsync();
        await listener.SendTextAsync("""{"action":"subscribe","channel":"room.lobby"}""");
        await listener.ReceiveTextAsync();
        await speaker.SendTextAsync("""{"action":"announce","text":"hello"}""");
        Assert.Equal("""{"type":"announcement","channel":"room.lobby","data":{"action":"announce","text":"hello"}}""", await listener.ReceiveTextAsync());
        Assert.Equal("""{"delivered":1}""", await speaker.ReceiveTextAsync());
    }

    private sealed class PublishingHandler(IGatewayPublisher publisher) : IGatewayRouteHandler
    {
        public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            var delivered = await publisher.PublishAsync("room.lobby", "announcement", context.Body.ToArray());
            return RouteResult.Reply(Encoding.UTF8.GetBytes($$"""{"delivered":{{delivered}}}"""));
        }
    }
}
