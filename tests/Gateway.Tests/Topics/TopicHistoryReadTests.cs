using System.Net;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Topics;

/// <summary>A topic's history read by the client's <c>history</c> command and by <c>GET /@topics/{topic}/history</c>.</summary>
public sealed class TopicHistoryReadTests(SharedHost<TopicHistoryReadTests> shared) : IClassFixture<SharedHost<TopicHistoryReadTests>>, IHostSettings
{
    /// <inheritdoc />
    public static Dictionary<string, string?> HostSettings => new(History);

    private static readonly Dictionary<string, string?> History = new()
    {
        ["Gateway:Topics:Authorization:AllowAll"] = "true",
        ["Gateway:Topics:History:0:Pattern"] = "events.>",
        ["Gateway:Topics:History:0:Size"] = "3",
    };

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(GatewayHost host, string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_management_API_and_the_client_read_the_events_after_a_position_or_all_that_are_kept()
    {
        await using var host = await GatewayHost.StartAsync(History);
        for (var n = 1; n <= 4; n++)
        {
            await TopicTests.PostAsync(host, "/@topics/events.room", $$"""{"type":"tick","data":{{n}}}""");
        }

        // Size 3: offsets 2, 3, 4 are kept.
        var (status, body) = await GetAsync(host, "/@topics/events.room/history");
        Assert.Equal(HttpStatusCode.OK, status);
        var all = JsonDocument.Parse(body).RootElement;
        var epoch = all.GetProperty("epoch").GetString()!;
        Assert.Equal($$$"""{"channel":"events.room","epoch":"{{{epoch}}}","offset":4,"events":[{"type":"tick","channel":"events.room","data":2,"offset":2},{"type":"tick","channel":"events.room","data":3,"offset":3},{"type":"tick","channel":"events.room","data":4,"offset":4}],"complete":true}""", body);

        (status, body) = await GetAsync(host, $"/@topics/events.room/history?since=2&epoch={epoch}&limit=1");
        Assert.Equal($$$"""{"channel":"events.room","epoch":"{{{epoch}}}","offset":4,"recovered":true,"events":[{"type":"tick","channel":"events.room","data":3,"offset":3}],"complete":false}""", body);

        // Offset 0: event 1 was dropped, so not every event after it is kept.
        (status, body) = await GetAsync(host, $"/@topics/events.room/history?since=0&epoch={epoch}");
        Assert.False(JsonDocument.Parse(body).RootElement.GetProperty("recovered").GetBoolean());
        Assert.Equal(3, JsonDocument.Parse(body).RootElement.GetProperty("events").GetArrayLength());

        await using var client = await host.ConnectAsync();
        await client.SendTextAsync($$$"""{"action":"history","channel":"events.room","since":{"offset":3,"epoch":"{{{epoch}}}"},"id":"h1"}""");
        Assert.Equal($$$"""{"type":"history","channel":"events.room","epoch":"{{{epoch}}}","offset":4,"recovered":true,"events":[{"type":"tick","channel":"events.room","data":4,"offset":4}],"complete":true,"id":"h1"}""", await client.ReceiveTextAsync());
    }

    [Theory]
    [InlineData("/@topics/events.*/history", HttpStatusCode.BadRequest)]
    [InlineData("/@topics/events.room/history?since=1", HttpStatusCode.BadRequest)]
    [InlineData("/@topics/events.room/history?since=x&epoch=e", HttpStatusCode.BadRequest)]
    [InlineData("/@topics/events.room/history?limit=0", HttpStatusCode.BadRequest)]
    [InlineData("/@topics/events.room/history?limit=1001", HttpStatusCode.BadRequest)]
    [InlineData("/@topics/other.room/history", HttpStatusCode.NotFound)]
    public async Task Bad_reads_and_topics_without_history_are_refused(string path, HttpStatusCode expected)
    {
        var (status, _) = await GetAsync(shared.Host, path);
        Assert.Equal(expected, status);
    }

    [Fact]
    public async Task The_client_command_is_authorized_like_a_subscribe_and_names_its_errors()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Topics:Authorization:Templates:0"] = "user.{sub}",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        });
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), "alice")}");
        await client.SendTextAsync("""{"action":"history","channel":"events.room","id":1}""");
        var first = await client.ReceiveTextAsync();
        Assert.True(first.Contains("\"code\":\"unauthorized\"", StringComparison.Ordinal), first);
        await client.SendTextAsync("""{"action":"history","channel":"events.*","id":2}""");
        Assert.Equal("invalid_request", JsonDocument.Parse(await client.ReceiveTextAsync()).RootElement.GetProperty("code").GetString());
        await client.SendTextAsync("""{"action":"history","channel":"events.room","limit":0,"id":3}""");
        Assert.Equal("invalid_request", JsonDocument.Parse(await client.ReceiveTextAsync()).RootElement.GetProperty("code").GetString());
    }
}
