using System.Net;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Topics;

/// <summary>Clients publishing to topics themselves (<c>Topics:ClientPublish</c>), over real sockets on one node.</summary>
public sealed class ClientPublishTests(SharedHost<ClientPublishTests> shared) : IClassFixture<SharedHost<ClientPublishTests>>, IHostSettings
{
    /// <inheritdoc />
    public static Dictionary<string, string?> HostSettings => Settings();

    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:ClientPublish:0:Pattern"] = "chat.>",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task SubscribeAsync(TestClient client, string channel)
    {
        await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
        Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
    }

    private static async Task<JsonElement> PublishAsync(TestClient client, string command)
    {
        await client.SendTextAsync(command);
        return await TopicTests.NextJsonAsync(client);
    }

    private static async Task AssertNothingMoreAsync(TestClient client)
    {
        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Off_by_default_a_publish_is_an_unknown_action()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var subscriber = await host.ConnectAsync();
        await SubscribeAsync(subscriber, "chat.room1");
        await using var client = await host.ConnectAsync();

        // This host's $default route echoes: a publish goes there as an action nobody serves does.
        foreach (var command in new[] { """{"action":"nosuch","channel":"chat.room1","type":"message","data":1,"id":1}""", """{"action":"publish","channel":"chat.room1","type":"message","data":1,"id":1}""" })
        {
            await client.SendTextAsync(command);
            Assert.Equal(command, await client.ReceiveTextAsync());
        }

        await AssertNothingMoreAsync(subscriber);
        Assert.Empty(host.Services.GetRequiredService<IOptions<Gateway.Configuration.GatewayOptions>>().Value.Topics.ClientPublish);
    }

    [Fact]
    public async Task A_publish_reaches_the_subscribers_saying_who_published_it_a_user_or_an_anonymous_connection()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        await using var alice = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), "alice")}");
        await using var anonymous = await host.ConnectAsync();
        await SubscribeAsync(anonymous, "chat.room1");

        var published = await PublishAsync(alice, """{"action":"publish","channel":"chat.room1","type":"message","data":{"text":"héllo <b>","n":[1,2]},"id":"p1"}""");
        Assert.Equal("""{"type":"published","channel":"chat.room1","id":"p1"}""", published.GetRawText());
        Assert.Equal(
            $$$"""{"type":"message","channel":"chat.room1","data":{"text":"héllo <b>","n":[1,2]},"from":{"connectionId":"{{{alice.Id}}}","userId":"alice"}}""",
            await anonymous.ReceiveTextAsync());

        // Anonymous: userId null. The publisher, subscribed too, gets its own event like any subscriber.
        await SubscribeAsync(alice, "chat.room1");
        await anonymous.SendTextAsync("""{"action":"publish","topic":"chat.room1","type":"typing","data":null,"id":2}""");
        var frames = new[] { await anonymous.ReceiveTextAsync(), await anonymous.ReceiveTextAsync() };
        var expected = $$$"""{"type":"typing","channel":"chat.room1","data":null,"from":{"connectionId":"{{{anonymous.Id}}}","userId":null}}""";
        Assert.Contains("""{"type":"published","channel":"chat.room1","id":2}""", frames);
        Assert.Contains(expected, frames);
        Assert.Equal(expected, await alice.ReceiveTextAsync());

        // A publish of the management API says nothing of who published it, byte for byte as before.
        await TopicTests.PostAsync(host, "/@topics/chat.room1", """{"type":"news","data":3}""");
        Assert.Equal("""{"type":"news","channel":"chat.room1","data":3}""", await alice.ReceiveTextAsync());
        Assert.Equal("""{"type":"news","channel":"chat.room1","data":3}""", await anonymous.ReceiveTextAsync());
    }

    [Fact]
    public async Task Clients_that_name_commands_in_type_publish_the_event_under_data()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:RouteSelectionExpression", "$request.body.type")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"type":"subscribe","data":{"channel":"chat.room2"}}""");
        Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
        await client.SendTextAsync("""{"type":"publish","data":{"channel":"chat.room2","type":"message","data":"hi"},"id":5}""");
        var frames = new[] { await client.ReceiveTextAsync(), await client.ReceiveTextAsync() };
        Assert.Contains("""{"type":"published","channel":"chat.room2","id":5}""", frames);
        Assert.Contains($$$"""{"type":"message","channel":"chat.room2","data":"hi","from":{"connectionId":"{{{client.Id}}}","userId":null}}""", frames);
    }

    [Fact]
    public async Task On_a_topic_with_history_the_answer_has_the_offset_and_epoch_and_the_history_keeps_who_published()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Topics:History:0:Pattern", "chat.>")));
        await using var alice = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), "alice")}");
        await using var subscriber = await host.ConnectAsync();
        await subscriber.SendTextAsync("""{"action":"subscribe","channel":"chat.room3"}""");
        var epoch = (await TopicTests.NextJsonAsync(subscriber)).GetProperty("epoch").GetString();

        await TopicTests.PostAsync(host, "/@topics/chat.room3", """{"type":"news","data":0}""");
        Assert.Equal("""{"type":"news","channel":"chat.room3","data":0,"offset":1}""", await subscriber.ReceiveTextAsync());
        var published = await PublishAsync(alice, """{"action":"publish","channel":"chat.room3","type":"message","data":"one","id":1}""");
        Assert.Equal($$"""{"type":"published","channel":"chat.room3","offset":2,"epoch":"{{epoch}}","id":1}""", published.GetRawText());
        var from = $$"""{"connectionId":"{{alice.Id}}","userId":"alice"}""";
        var live = $$"""{"type":"message","channel":"chat.room3","data":"one","from":{{from}},"offset":2}""";
        Assert.Equal(live, await subscriber.ReceiveTextAsync());

        // Recovery after a reconnect replays the very frame, from included.
        await using var back = await host.ConnectAsync();
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"chat.room3","since":{"offset":1,"epoch":"{{{epoch}}}"}}""");
        Assert.True((await TopicTests.NextJsonAsync(back)).GetProperty("recovered").GetBoolean());
        Assert.Equal(live, await back.ReceiveTextAsync());

        // And so do the history reads: the management API's and the client command's.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        var read = JsonDocument.Parse(await http.GetStringAsync(new Uri("/@topics/chat.room3/history", UriKind.Relative))).RootElement;
        var events = read.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(2, events.Count);
        Assert.False(events[0].TryGetProperty("from", out _));
        Assert.Equal(live, events[1].GetRawText());
        await back.SendTextAsync("""{"action":"history","channel":"chat.room3"}""");
        Assert.Equal(live, (await TopicTests.NextJsonAsync(back)).GetProperty("events")[1].GetRawText());
    }

    [Theory]
    [InlineData("""{"action":"publish","type":"message","data":1,"id":1}""", "needs a channel")]
    [InlineData("""{"action":"publish","channel":"","type":"message","data":1,"id":1}""", "non-empty string")]
    [InlineData("""{"action":"publish","channel":7,"type":"message","data":1,"id":1}""", "non-empty string")]
    [InlineData("""{"action":"publish","channel":"chat.*","type":"message","data":1,"id":1}""", "without wildcards")]
    [InlineData("""{"action":"publish","channel":"chat.>","type":"message","data":1,"id":1}""", "without wildcards")]
    [InlineData("""{"action":"publish","channel":"chat..x","type":"message","data":1,"id":1}""", "dot-separated")]
    [InlineData("""{"action":"publish","channel":"chat.room1","data":1,"id":1}""", "needs a type")]
    [InlineData("""{"action":"publish","channel":"chat.room1","type":3,"data":1,"id":1}""", "type must be a string")]
    [InlineData("""{"action":"publish","channel":"chat.room1","type":"","data":1,"id":1}""", "type must be a string")]
    [InlineData("""{"action":"publish","channel":"chat.room1","type":"a\u0001b","data":1,"id":1}""", "control characters")]
    [InlineData("""{"action":"publish","channel":"chat.room1","type":"message","id":1}""", "needs data")]
    [InlineData("""{"action":"publish","channel":"\ud800","type":"message","data":1,"id":1}""", "non-empty string")]
    public async Task A_malformed_publish_is_answered_invalid_naming_the_problem(string command, string problem)
    {
        var host = shared.Host;
        await using var subscriber = await host.ConnectAsync();
        await SubscribeAsync(subscriber, "chat.room1");
        await using var client = await host.ConnectAsync();
        var answer = await PublishAsync(client, command);
        Assert.Equal("publish_failed", answer.GetProperty("type").GetString());
        Assert.Equal("invalid", answer.GetProperty("reason").GetString());
        Assert.Contains(problem, answer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, answer.GetProperty("id").GetInt32());
        await AssertNothingMoreAsync(subscriber);
    }

    [Fact]
    public async Task Topics_no_pattern_names_or_the_connection_may_not_subscribe_to_are_not_allowed()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Topics:Authorization:Templates:0"] = "user.{sub}",
            ["Gateway:Topics:ClientPublish:0:Pattern"] = "user.*",
        });
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "alice", lifetime: TimeSpan.FromHours(1));
        await using var alice = await host.ConnectAsync($"/?token={token}");
        await SubscribeAsync(alice, "user.alice");

        var published = await PublishAsync(alice, """{"action":"publish","channel":"user.alice","type":"note","data":1,"id":1}""");
        var frames = new[] { published.GetRawText(), await alice.ReceiveTextAsync() };
        Assert.Contains("""{"type":"published","channel":"user.alice","id":1}""", frames);

        foreach (var (channel, problem) in new[] { ("user.bob", "may not subscribe to user.bob"), ("news.today", "clients may not publish to news.today") })
        {
            var refused = await PublishAsync(alice, $$"""{"action":"publish","channel":"{{channel}}","type":"note","data":1,"id":2}""");
            Assert.Equal("publish_failed", refused.GetProperty("type").GetString());
            Assert.Equal(channel, refused.GetProperty("channel").GetString());
            Assert.Equal("not_allowed", refused.GetProperty("reason").GetString());
            Assert.Contains(problem, refused.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(2, refused.GetProperty("id").GetInt32());
        }

        await AssertNothingMoreAsync(alice);
    }

    [Fact]
    public async Task A_subscribe_authorizer_that_fails_makes_the_publish_unavailable_and_the_connection_stays()
    {
        // Nothing listens on the authorizer's port: the question fails.
        using var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Topics:Authorization:Uri"] = $"http://127.0.0.1:{port}/can-subscribe",
            ["Gateway:Topics:ClientPublish:0:Pattern"] = "chat.>",
        });
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "alice", lifetime: TimeSpan.FromHours(1));
        await using var alice = await host.ConnectAsync($"/?token={token}");
        var refused = await PublishAsync(alice, """{"action":"publish","channel":"chat.room1","type":"m","data":1,"id":1}""");
        Assert.Equal("publish_failed", refused.GetProperty("type").GetString());
        Assert.Equal("unavailable", refused.GetProperty("reason").GetString());
        Assert.Equal("the publish could not be authorized", refused.GetProperty("message").GetString());
        await AssertNothingMoreAsync(alice);
    }

    [Fact]
    public async Task Data_over_the_management_APIs_payload_limit_is_too_large()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Management:MaxPayloadBytes", "100")));
        await using var subscriber = await host.ConnectAsync();
        await SubscribeAsync(subscriber, "chat.room1");
        await using var client = await host.ConnectAsync();
        var fits = new string('x', 98);
        Assert.Equal("published", (await PublishAsync(client, $$"""{"action":"publish","channel":"chat.room1","type":"m","data":"{{fits}}"}""")).GetProperty("type").GetString());
        Assert.Contains(fits, await subscriber.ReceiveTextAsync(), StringComparison.Ordinal);

        var refused = await PublishAsync(client, $$"""{"action":"publish","channel":"chat.room1","type":"m","data":"{{fits}}x","id":1}""");
        Assert.Equal("too_large", refused.GetProperty("reason").GetString());
        Assert.Contains("101 bytes", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertNothingMoreAsync(subscriber);
    }

    [Fact]
    public async Task Each_connection_publishes_at_its_rate_per_rule_with_a_burst_of_the_rate()
    {
        await using var host = await GatewayHost.StartAsync(Settings(
            ("Gateway:Topics:ClientPublish:0:RatePerSecond", "2"),
            ("Gateway:Topics:ClientPublish:1:Pattern", "game.>")));
        await using var client = await host.ConnectAsync();
        await using var other = await host.ConnectAsync();
        const string Chat = """{"action":"publish","channel":"chat.room1","type":"m","data":1}""";
        string Reason(JsonElement answer) => answer.TryGetProperty("reason", out var r) ? r.GetString()! : answer.GetProperty("type").GetString()!;

        Assert.Equal("published", Reason(await PublishAsync(client, Chat)));
        Assert.Equal("published", Reason(await PublishAsync(client, Chat)));
        var limited = await PublishAsync(client, Chat);
        Assert.Equal("rate_limited", Reason(limited));
        Assert.Contains("at most 2 publishes a second to chat.>", limited.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Another rule's bucket, and another connection's, are their own.
        Assert.Equal("published", Reason(await PublishAsync(client, """{"action":"publish","channel":"game.1","type":"m","data":1}""")));
        Assert.Equal("published", Reason(await PublishAsync(other, Chat)));

        // Half a second brings one token back, and no more than the burst ever piles up.
        host.Time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("published", Reason(await PublishAsync(client, Chat)));
        Assert.Equal("rate_limited", Reason(await PublishAsync(client, Chat)));
        host.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("published", Reason(await PublishAsync(client, Chat)));
        Assert.Equal("published", Reason(await PublishAsync(client, Chat)));
        Assert.Equal("rate_limited", Reason(await PublishAsync(client, Chat)));
    }

    [Theory]
    [InlineData("Gateway:Topics:ClientPublish:0:Pattern", "chat..x", "Gateway:Topics:ClientPublish:0:Pattern 'chat..x' is not a topic pattern.")]
    [InlineData("Gateway:Topics:ClientPublish:0:RatePerSecond", "0", "Gateway:Topics:ClientPublish:0:RatePerSecond 0 must be a positive number.")]
    [InlineData("Gateway:Topics:ClientPublish:0:RatePerSecond", "-1", "Gateway:Topics:ClientPublish:0:RatePerSecond -1 must be a positive number.")]
    public async Task A_bad_entry_is_a_configuration_problem_naming_its_key(string key, string value, string message)
    {
        var settings = Settings((key, value));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(settings));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publishes_are_counted_by_outcome_in_the_metrics()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Topics:ClientPublish:0:RatePerSecond", "1")));
        await using var client = await host.ConnectAsync();
        await PublishAsync(client, """{"action":"publish","channel":"chat.room1","type":"m","data":1}""");
        await PublishAsync(client, """{"action":"publish","channel":"chat.room1","type":"m","data":1}""");
        await PublishAsync(client, """{"action":"publish","channel":"news.x","type":"m","data":1}""");
        await PublishAsync(client, """{"action":"publish","channel":"chat.room1","type":"m"}""");

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        var scrape = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        // Other hosts of this process may add in (their meters have the same name): each outcome is there, at least once.
        foreach (var outcome in new[] { "published", "rate_limited", "not_allowed", "invalid" })
        {
            Assert.Contains($"gateway_topics_client_publishes_total{{otel_scope_name=\"Gateway\",outcome=\"{outcome}\"}} ", scrape, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await TopicTests.PostAsync(host, "/@topics/chat.room1", """{"type":"x"}""")).Status);
    }
}
