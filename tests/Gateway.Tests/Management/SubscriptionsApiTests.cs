using System.Net;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;

namespace Gateway.Tests.Management;

/// <summary>Subscriptions made by the server through the management API, on one node.</summary>
public sealed class SubscriptionsApiTests(SharedHost<SubscriptionsApiTests> shared) : IClassFixture<SharedHost<SubscriptionsApiTests>>, IHostSettings
{
    /// <inheritdoc />
    public static Dictionary<string, string?> HostSettings => Settings();

    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        // Clients authenticate by JWT when they give one; without AllowAll, the client's own subscribes are refused.
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    internal static async Task<(HttpStatusCode Status, string? ErrorType, string Body, string? Allow)> CallAsync(GatewayHost host, HttpMethod method, string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        using var response = await http.SendAsync(request);
        var errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var types) ? types.First() : null;
        var allow = response.Content.Headers.Allow.Count > 0 ? string.Join(", ", response.Content.Headers.Allow) : null;
        return (response.StatusCode, errorType, await response.Content.ReadAsStringAsync(), allow);
    }

    private static async Task<int> UserCallAsync(GatewayHost host, HttpMethod method, string path)
    {
        var (status, _, body, _) = await CallAsync(host, method, path);
        Assert.Equal(HttpStatusCode.OK, status);
        return JsonDocument.Parse(body).RootElement.GetProperty("connections").GetInt32();
    }

    private static async Task AssertNothingMoreAsync(TestClient client)
    {
        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
    }

    private static string Token(GatewayHost host, string user) => TestTokens.Mint(host.Time.GetUtcNow(), user);

    [Fact]
    public async Task Put_subscribes_a_connection_once_and_delete_unsubscribes_it_with_frames_by_server()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        await using var client = await host.ConnectAsync();

        // The client may not subscribe itself (no topic authorization grants it anything); the server may.
        await client.SendTextAsync("""{"action":"subscribe","channel":"news.sport"}""");
        Assert.Equal("unauthorized", (await TopicTests.NextJsonAsync(client)).GetProperty("code").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Put, $"/@connections/{client.Id}/topics/news.sport")).Status);
        Assert.Equal("""{"type":"subscribed","channel":"news.sport","by":"server"}""", await client.ReceiveTextAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Put, $"/prod/@connections/{client.Id}/topics/news.sport")).Status);
        await AssertNothingMoreAsync(client);

        var (status, published) = await TopicTests.PostAsync(host, "/@topics/news.sport", """{"type":"goal","data":1}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, published.GetProperty("delivered").GetInt32());
        Assert.Equal("""{"type":"goal","channel":"news.sport","data":1}""", await client.ReceiveTextAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Delete, $"/@connections/{client.Id}/topics/news.sport")).Status);
        Assert.Equal("""{"type":"unsubscribed","channel":"news.sport","by":"server"}""", await client.ReceiveTextAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Delete, $"/@connections/{client.Id}/topics/news.sport")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Delete, $"/@connections/{client.Id}/topics/never.held")).Status);
        await AssertNothingMoreAsync(client);
        Assert.Equal(0, (await TopicTests.PostAsync(host, "/@topics/news.sport", """{"type":"goal"}""")).Body.GetProperty("delivered").GetInt32());
    }

    [Fact]
    public async Task A_pattern_is_accepted_and_a_topic_with_history_answers_with_its_epoch_and_offset()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        await using var client = await host.ConnectAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Put, $"/@connections/{client.Id}/topics/news.%3E")).Status);
        Assert.Equal("""{"type":"subscribed","channel":"news.>","by":"server"}""", await client.ReceiveTextAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Put, $"/@connections/{client.Id}/topics/news.*.live")).Status);
        Assert.Equal("""{"type":"subscribed","channel":"news.*.live","by":"server"}""", await client.ReceiveTextAsync());

        await TopicTests.PostAsync(host, "/@topics/events.org_1", """{"type":"x","data":1}""");
        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Put, $"/@connections/{client.Id}/topics/events.org_1")).Status);
        var subscribed = await TopicTests.NextJsonAsync(client);
        Assert.Equal("subscribed", subscribed.GetProperty("type").GetString());
        Assert.Equal("events.org_1", subscribed.GetProperty("channel").GetString());
        Assert.False(string.IsNullOrEmpty(subscribed.GetProperty("epoch").GetString()));
        Assert.Equal(1, subscribed.GetProperty("offset").GetInt64());
        Assert.Equal("server", subscribed.GetProperty("by").GetString());

        await TopicTests.PostAsync(host, "/@topics/events.org_1", """{"type":"x","data":2}""");
        Assert.Equal("""{"type":"x","channel":"events.org_1","data":2,"offset":2}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Bad_ids_bad_topics_gone_connections_and_other_methods_are_refused()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Topics:MaxTopicLength", "16")));
        await using var client = await host.ConnectAsync();
        var closed = await host.ConnectAsync();
        var goneId = closed.Id;
        await closed.CloseAsync();
        await closed.DisposeAsync();
        await Wait.UntilAsync(() => host.Registry.Count == 1, "the closed connection left");

        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Delete })
        {
            var gone = await CallAsync(host, method, $"/@connections/{goneId}/topics/news");
            Assert.Equal(HttpStatusCode.Gone, gone.Status);
            Assert.Equal("GoneException", gone.ErrorType);
            Assert.Contains(goneId, gone.Body, StringComparison.Ordinal);

            var badId = await CallAsync(host, method, "/@connections/not-an-id/topics/news");
            Assert.Equal(HttpStatusCode.BadRequest, badId.Status);
            Assert.Equal("BadRequestException", badId.ErrorType);

            foreach (var topic in new[] { "a..b", "a.%3E.b", "seventeen-chars-x", "a%20b" })
            {
                var bad = await CallAsync(host, method, $"/@connections/{client.Id}/topics/{topic}");
                Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
                Assert.Equal("BadRequestException", bad.ErrorType);
                Assert.Contains("Invalid topic", bad.Body, StringComparison.Ordinal);

                var badForUser = await CallAsync(host, method, $"/@users/alice/topics/{topic}");
                Assert.Equal(HttpStatusCode.BadRequest, badForUser.Status);
            }
        }

        var other = await CallAsync(host, HttpMethod.Get, $"/@connections/{client.Id}/topics/news");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, other.Status);
        Assert.Equal("MethodNotAllowedException", other.ErrorType);
        Assert.Equal("PUT, DELETE", other.Allow);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await CallAsync(host, HttpMethod.Post, "/@users/alice/topics/news")).Status);
        await AssertNothingMoreAsync(client);
    }

    [Fact]
    public async Task The_subscription_limit_applies_with_429_and_a_held_topic_is_still_204()
    {
        await using var host = await GatewayHost.StartAsync(Settings(("Gateway:Topics:MaxSubscriptionsPerConnection", "2"), ("Gateway:Topics:Authorization:AllowAll", "true")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"subscribe","channel":"mine"}""");
        Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Put, $"/@connections/{client.Id}/topics/one")).Status);
        await client.ReceiveTextAsync();

        var over = await CallAsync(host, HttpMethod.Put, $"/@connections/{client.Id}/topics/two");
        Assert.Equal(HttpStatusCode.TooManyRequests, over.Status);
        Assert.Equal("LimitExceededException", over.ErrorType);
        Assert.Equal(HttpStatusCode.NoContent, (await CallAsync(host, HttpMethod.Put, $"/@connections/{client.Id}/topics/mine")).Status);
        await AssertNothingMoreAsync(client);

        // Over the limit, a user's connection is not counted.
        await using var alice = await host.ConnectAsync($"/?token={Token(host, "alice")}");
        Assert.Equal(1, await UserCallAsync(host, HttpMethod.Put, "/@users/alice/topics/one"));
        Assert.Equal(1, await UserCallAsync(host, HttpMethod.Put, "/@users/alice/topics/two"));
        Assert.Equal(0, await UserCallAsync(host, HttpMethod.Put, "/@users/alice/topics/three"));
    }

    [Fact]
    public async Task A_user_put_and_delete_reach_every_connection_of_the_user_and_nobody_else()
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        await using var alice1 = await host.ConnectAsync($"/?token={Token(host, "alice")}");
        await using var alice2 = await host.ConnectAsync($"/?token={Token(host, "alice")}");
        await using var bob = await host.ConnectAsync($"/?token={Token(host, "bob")}");

        Assert.Equal(2, await UserCallAsync(host, HttpMethod.Put, "/@users/alice/topics/news"));
        foreach (var alice in new[] { alice1, alice2 })
        {
            Assert.Equal("""{"type":"subscribed","channel":"news","by":"server"}""", await alice.ReceiveTextAsync());
        }

        Assert.Equal(2, await UserCallAsync(host, HttpMethod.Put, "/@users/alice/topics/news"));
        Assert.Equal(0, await UserCallAsync(host, HttpMethod.Put, "/@users/nobody/topics/news"));
        Assert.Equal(2, (await TopicTests.PostAsync(host, "/@topics/news", """{"type":"x","data":1}""")).Body.GetProperty("delivered").GetInt32());
        Assert.Equal(2, await UserCallAsync(host, HttpMethod.Delete, "/@users/alice/topics/news"));
        foreach (var alice in new[] { alice1, alice2 })
        {
            Assert.Equal("""{"type":"x","channel":"news","data":1}""", await alice.ReceiveTextAsync());
            Assert.Equal("""{"type":"unsubscribed","channel":"news","by":"server"}""", await alice.ReceiveTextAsync());
            await AssertNothingMoreAsync(alice);
        }

        await AssertNothingMoreAsync(bob);
    }

    [Theory]
    [InlineData("PT10M")]
    [InlineData("00:10:00")]
    public async Task With_for_the_users_later_connections_are_subscribed_as_they_connect_until_it_runs_out(string duration)
    {
        await using var host = await GatewayHost.StartAsync(Settings());
        Assert.Equal(0, await UserCallAsync(host, HttpMethod.Put, $"/@users/alice/topics/news?for={duration}"));
        Assert.Equal(0, await UserCallAsync(host, HttpMethod.Put, $"/@users/alice/topics/events.org_1?for={duration}"));

        await using (var later = await host.ConnectAsync($"/?token={Token(host, "alice")}"))
        {
            var frames = new[] { await TopicTests.NextJsonAsync(later), await TopicTests.NextJsonAsync(later) }
                .OrderBy(f => f.GetProperty("channel").GetString(), StringComparer.Ordinal).ToList();
            Assert.Equal("events.org_1", frames[0].GetProperty("channel").GetString());
            Assert.Equal(0, frames[0].GetProperty("offset").GetInt64());
            Assert.Equal("news", frames[1].GetProperty("channel").GetString());
            Assert.All(frames, f => Assert.Equal("server", f.GetProperty("by").GetString()));
            Assert.All(frames, f => Assert.Equal("subscribed", f.GetProperty("type").GetString()));
            await AssertNothingMoreAsync(later);
        }

        // Other users, and anonymous connections, are not subscribed.
        await using (var bob = await host.ConnectAsync($"/?token={Token(host, "bob")}"))
        {
            await AssertNothingMoreAsync(bob);
        }

        // DELETE with for forgets the topic for later connections; the other is remembered still.
        Assert.Equal(0, await UserCallAsync(host, HttpMethod.Delete, $"/@users/alice/topics/news?for={duration}"));
        await using (var after = await host.ConnectAsync($"/?token={Token(host, "alice")}"))
        {
            Assert.Equal("events.org_1", (await TopicTests.NextJsonAsync(after)).GetProperty("channel").GetString());
            await AssertNothingMoreAsync(after);
        }

        host.Advance(TimeSpan.FromMinutes(11));
        await using var expired = await host.ConnectAsync($"/?token={Token(host, "alice")}");
        await AssertNothingMoreAsync(expired);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ten")]
    [InlineData("PT0S")]
    [InlineData("00:00:00")]
    [InlineData("-PT1M")]
    [InlineData("-00:01:00")]
    [InlineData("PT24H1S")]
    [InlineData("1.00:00:01")]
    public async Task A_for_that_is_no_duration_or_over_24_hours_is_400(string duration)
    {
        var host = shared.Host;
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Delete })
        {
            var refused = await CallAsync(host, method, $"/@users/alice/topics/news?for={Uri.EscapeDataString(duration)}");
            Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
            Assert.Equal("BadRequestException", refused.ErrorType);
        }

        Assert.Equal(0, await UserCallAsync(host, HttpMethod.Put, "/@users/alice/topics/news?for=PT24H"));
    }
}
