using System.Net;
using Gateway.Configuration;
using Gateway.Tests.Infrastructure;
using Gateway.Topics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Gateway.Backplane;

namespace Gateway.Tests.Topics;

/// <summary>Input and load that must neither break frames, nor leak, nor close clients that did nothing wrong.</summary>
public sealed class TopicHardeningTests
{
    private static TopicHub Hub(FakeTimeProvider time)
    {
        var options = new GatewayOptions();
        options.Topics.History.Add(new TopicHistoryOptions { Pattern = "events.>", Size = 5, Ttl = TimeSpan.FromMinutes(1) });
        return new TopicHub(Options.Create(options), time, NullLogger<TopicHub>.Instance);
    }

    [Fact]
    public async Task Data_that_is_not_valid_UTF8_JSON_is_refused_and_no_frame_can_be_invalid()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"subscribe","channel":"t"}""");
        await client.ReceiveTextAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        foreach (var (path, body) in new (string, byte[])[]
        {
            ("/@topics/t?type=x", [(byte)'"', 0xC3, (byte)'(', (byte)'"']),
            ("/@topics/t", [.. "{\"type\":\"x\",\"data\":\""u8, 0xC3, (byte)'(', .. "\"}"u8]),
            ("/@topics/t", [.. """{"type":"x","data":"""u8]),
        })
        {
            var response = await http.PostAsync(new Uri(path, UriKind.Relative), new ByteArrayContent(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        var publisher = host.Services.GetRequiredService<IGatewayPublisher>();
        foreach (var data in new[] { ""u8.ToArray(), "{"u8.ToArray(), "1 2"u8.ToArray(), "}"u8.ToArray(), new byte[] { 0x22, 0xC3, 0x28, 0x22 } })
        {
            await Assert.ThrowsAsync<ArgumentException>(async () => await publisher.PublishAsync("t", "x", data));
        }

        await Assert.ThrowsAsync<ArgumentException>(async () => await publisher.PublishAsync("a.*", "x", "1"u8.ToArray()));
        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync()); // nothing reached it before
    }

    [Fact]
    public async Task Escaped_lone_surrogates_in_commands_and_publishes_are_refused_as_bad_input_not_internal_errors()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Required"] = "false",
        });
        await using var client = await host.ConnectAsync();

        // Valid JSON whose string is not valid Unicode: a channel, a refresh token, a since epoch.
        foreach (var command in new[]
        {
            """{"action":"subscribe","channel":"\uD800","id":1}""",
            """{"action":"subscribe","data":{"topic":"a\uDC00b"},"id":1}""",
            """{"action":"subscribe","channel":"a","since":{"offset":1,"epoch":"\uD800"},"id":1}""",
            """{"action":"unsubscribe","channel":"\uD800","id":1}""",
        })
        {
            await client.SendTextAsync(command);
            var error = await TopicTests.NextJsonAsync(client);
            Assert.Equal("error", error.GetProperty("type").GetString());
            Assert.Equal("invalid_request", error.GetProperty("code").GetString());
            Assert.Equal(1, error.GetProperty("id").GetInt32());
        }

        // As a route key it names no route: $default (the demo echo) answers.
        await client.SendTextAsync("""{"action":"\uD800"}""");
        Assert.Equal("""{"action":"\uD800"}""", await client.ReceiveTextAsync());

        await client.SendTextAsync("""{"action":"refresh","token":"\uD800","id":1}""");
        var refused = await TopicTests.NextJsonAsync(client);
        Assert.Equal("error", refused.GetProperty("type").GetString());
        Assert.NotEqual("internal_error", refused.GetProperty("code").GetString());

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        var publish = await http.PostAsync(new Uri("/@topics/t", UriKind.Relative), new StringContent("""{"type":"\uD800","data":1}"""));
        Assert.Equal(HttpStatusCode.BadRequest, publish.StatusCode);

        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_malformed_since_is_invalid_request_and_since_without_history_is_recovered_false()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        foreach (var since in new[] { """{"offset":"5","epoch":"e"}""", """{"offset":5}""", "7", """{"offset":1.5,"epoch":"e"}""" })
        {
            await client.SendTextAsync($$"""{"action":"subscribe","channel":"a","id":1,"since":{{since}}}""");
            var error = await TopicTests.NextJsonAsync(client);
            Assert.Equal("invalid_request", error.GetProperty("code").GetString());
            Assert.Equal(1, error.GetProperty("id").GetInt32());
        }

        await client.SendTextAsync("""{"action":"subscribe","channel":"a","since":{"offset":5,"epoch":"e"}}""");
        Assert.False((await TopicTests.NextJsonAsync(client)).GetProperty("recovered").GetBoolean());
    }

    [Fact]
    public async Task Topic_names_with_slash_or_percent_are_refused_everywhere()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        foreach (var name in new[] { "tenant/a.room", "a%2Fb" })
        {
            await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{name}}"}""");
            Assert.Equal("invalid_request", (await TopicTests.NextJsonAsync(client)).GetProperty("code").GetString());
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await TopicTests.PostAsync(host, "/@topics/a%2Fb", """{"type":"x"}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await TopicTests.PostAsync(host, "/@topics/a%25b", """{"type":"x"}""")).Status);
    }

    [Fact]
    public void Histories_whose_events_expired_are_forgotten_and_the_sweep_does_not_run_on_every_new_topic()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var hub = Hub(time);
        for (var i = 0; i < 10_000; i++)
        {
            hub.PublishLocal($"events.t{i}", "tick", "1"u8);
        }

        time.Advance(TimeSpan.FromHours(1));
        hub.PublishLocal("events.new", "tick", "1"u8);
        Assert.Equal(1, hub.HistoryTopicCount);

        // Live histories above the mark: the next sweep waits for twice as many, so new topics stay cheap.
        for (var i = 0; i < 12_000; i++)
        {
            hub.PublishLocal($"events.live{i}", "tick", "1"u8);
        }

        Assert.Equal(12_001, hub.HistoryTopicCount);
    }

    [Fact]
    public async Task A_recovery_that_would_not_fit_the_send_queue_is_recovered_false_not_a_slow_consumer_close()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
            ["Gateway:Topics:History:0:Size"] = "20",
            ["Gateway:Connections:SendQueueByteLimit"] = "262144",
        });
        string epoch;
        await using (var first = await host.ConnectAsync())
        {
            await first.SendTextAsync("""{"action":"subscribe","channel":"events.big"}""");
            epoch = (await TopicTests.NextJsonAsync(first)).GetProperty("epoch").GetString()!;
        }

        var big = new string('x', 100_000);
        for (var i = 0; i < 20; i++)
        {
            await TopicTests.PostAsync(host, "/@topics/events.big?type=tick", big, "text/plain");
        }

        await using var client = await host.ConnectAsync();
        await client.SendTextAsync($$$"""{"action":"subscribe","channel":"events.big","since":{"offset":0,"epoch":"{{{epoch}}}"}}""");
        var answer = await TopicTests.NextJsonAsync(client);
        Assert.False(answer.GetProperty("recovered").GetBoolean());
        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("pong", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());

        // The last two fit, and are recovered.
        await client.SendTextAsync($$$"""{"action":"subscribe","channel":"events.big","since":{"offset":18,"epoch":"{{{epoch}}}"}}""");
        Assert.True((await TopicTests.NextJsonAsync(client)).GetProperty("recovered").GetBoolean());
        Assert.Equal(19, (await TopicTests.NextJsonAsync(client)).GetProperty("offset").GetInt64());
        Assert.Equal(20, (await TopicTests.NextJsonAsync(client)).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_stream_topic_longer_than_the_limit_is_refused_and_a_history_Size_must_fit_the_queue()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using (var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = backend.Url("/ask").ToString(),
            ["Gateway:Routes:ask:Integration:StreamTopic"] = "conversation:{conversation_id}",
        }))
        {
            await using var client = await host.ConnectAsync();
            await client.SendTextAsync($$"""{"action":"ask","conversation_id":"{{new string('c', 300)}}"}""");
            Assert.Equal("invalid_request", (await TopicTests.NextJsonAsync(client)).GetProperty("code").GetString());
            Assert.Empty(backend.Requests);
        }

        foreach (var (key, value) in new[] { ("Gateway:Topics:History:0:Size", "1000"), ("Gateway:Routes:ask:Integration:StreamTopic", "events.*.{id}") })
        {
            var settings = new Dictionary<string, string?>
            {
                ["Gateway:Topics:History:0:Pattern"] = "events.>",
                ["Gateway:Routes:ask:Integration:Type"] = "http",
                ["Gateway:Routes:ask:Integration:Uri"] = backend.Url("/ask").ToString(),
                [key] = value,
            };
            await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(settings));
        }
    }

    [Fact]
    public async Task Nothing_can_subscribe_a_connection_once_its_subscriptions_were_removed()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var hub = host.Services.GetRequiredService<TopicHub>();
        var connection = host.Connection(client.Id);
        hub.RemoveAll(connection);
        Assert.False(hub.Subscribe(connection, "late", null, _ => "{}"u8.ToArray()));
        Assert.Equal(0, hub.SubscriptionCount);
    }
}
