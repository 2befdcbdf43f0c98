using System.Net;
using System.Text;
using Gateway.Management;
using Gateway.Tests.Infrastructure;
using static Gateway.Tests.Management.ManagementCalls;

namespace Gateway.Tests.Management;

/// <summary><c>POST /@batch</c>: many sends in one call, each answered as its single call would be.</summary>
public class BatchTests(SharedHost<BatchTests> shared) : IClassFixture<SharedHost<BatchTests>>, IHostSettings
{
    private static readonly string[] AliceTexts = ["text", "for alice", """{"type":"said","channel":"news","data":{"n":1}}"""];

    /// <inheritdoc />
    public static Dictionary<string, string?> HostSettings => new()
    {
        ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
        ["Gateway:Auth:Jwt:Required"] = "false",
        ["Gateway:Topics:Authorization:AllowAll"] = "true",
    };

    private static Task<GatewayHost> StartAsync(params (string Key, string? Value)[] extra)
    {
        var settings = HostSettings;
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return GatewayHost.StartAsync(settings);
    }

    [Fact]
    public async Task Every_kind_of_item_is_carried_out_and_answered_in_item_order()
    {
        await using var host = await StartAsync();
        await using var alice = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), "alice")}");
        await using var other = await host.ConnectAsync();
        await SubscribeAsync("news", alice, other);
        var gone = other.Id[..^1] + (other.Id[^1] == 'A' ? 'B' : 'A');
        var body = $$"""
            {"items":[
              {"connectionId":"{{alice.Id}}","body":"text"},
              {"connectionId":"{{alice.Id}}","bodyBase64":"AAEC"},
              {"connectionId":"{{gone}}","body":"lost"},
              {"userId":"alice","body":"for alice"},
              {"topic":"news","type":"said","data":{"n":1},"exclude":["{{other.Id}}"]},
              {"broadcast":true,"body":"all","exclude":["{{alice.Id}}"]}
            ]}
            """;

        var answer = await PostAsync(host, "/@batch", body);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(
            $$"""{"results":[{"status":200,"delivered":1},{"status":200,"delivered":1},{"status":410,"errorType":"GoneException","message":"Connection {{gone}} is gone."},{"status":200,"delivered":1},{"status":200,"delivered":1},{"status":200,"delivered":1}]}""",
            answer.Text);
        // Items to one connection arrive in item order; the user send and the publish run beside them.
        var frames = new List<Frame>();
        for (var i = 0; i < 4; i++)
        {
            frames.Add(await alice.ReceiveAsync());
        }

        var texts = frames.Where(f => f.Type == System.Net.WebSockets.WebSocketMessageType.Text).Select(f => f.Text).ToList();
        Assert.Equal(AliceTexts.Order(StringComparer.Ordinal), texts.Order(StringComparer.Ordinal));
        var binary = Assert.Single(frames, f => f.Type == System.Net.WebSockets.WebSocketMessageType.Binary);
        Assert.Equal(new byte[] { 0, 1, 2 }, binary.Data);
        Assert.True(frames.FindIndex(f => f.Type == System.Net.WebSockets.WebSocketMessageType.Text && f.Text == "text") < frames.IndexOf(binary), "the connection's items in item order");
        Assert.Equal("all", await other.ReceiveTextAsync());
        await AssertNothingMoreAsync(alice, other);
    }

    [Fact]
    public async Task An_item_over_the_message_limit_fails_alone_with_413()
    {
        await using var host = await StartAsync(("Gateway:Management:MaxPayloadBytes", "10"));
        await using var client = await host.ConnectAsync();
        var answer = await PostAsync(host, "/@batch", $$"""{"items":[{"connectionId":"{{client.Id}}","body":"more than ten bytes"},{"connectionId":"{{client.Id}}","body":"short"}]}""");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var results = answer.Json.GetProperty("results");
        Assert.Equal(413, results[0].GetProperty("status").GetInt32());
        Assert.Equal(ManagementErrors.PayloadTooLarge, results[0].GetProperty("errorType").GetString());
        Assert.Equal(200, results[1].GetProperty("status").GetInt32());
        Assert.Equal("short", await client.ReceiveTextAsync());
        await AssertNothingMoreAsync(client);
    }

    [Theory]
    [InlineData("not json", "The body must be JSON")]
    [InlineData("""[]""", "The body must be {\"items\": [...]}")]
    [InlineData("""{"items":[],"more":1}""", "Unknown or repeated field 'more'")]
    [InlineData("""{"items":{}}""", "The body must be {\"items\": [...]}, items an array")]
    [InlineData("""{"items":[OK,1]}""", "Invalid item 1: an item must be an object.")]
    [InlineData("""{"items":[OK,{"broadcast":true,"body":"x","extra":1}]}""", "Invalid item 1: unknown field 'extra'.")]
    [InlineData("""{"items":[OK,{"userId":1,"body":"x"}]}""", "Invalid item 1: 'userId' must be a string.")]
    [InlineData("""{"items":[OK,{"broadcast":false,"body":"x"}]}""", "Invalid item 1: 'broadcast' must be true.")]
    [InlineData("""{"items":[OK,{"body":"x"}]}""", "Invalid item 1: no target")]
    [InlineData("""{"items":[OK,{"userId":"a","broadcast":true,"body":"x"}]}""", "Invalid item 1: more than one target")]
    [InlineData("""{"items":[OK,{"userId":"a","body":"x","bodyBase64":"AA=="}]}""", "Invalid item 1: give 'body' or 'bodyBase64', not both.")]
    [InlineData("""{"items":[OK,{"userId":"a"}]}""", "Invalid item 1: the item needs 'body' (text) or 'bodyBase64' (binary).")]
    [InlineData("""{"items":[OK,{"userId":"a","bodyBase64":"%%%"}]}""", "Invalid item 1: 'bodyBase64' is not valid base64.")]
    [InlineData("""{"items":[OK,{"topic":"news.*","type":"t","data":1}]}""", "Invalid item 1: invalid topic")]
    [InlineData("""{"items":[OK,{"topic":"news","data":1}]}""", "Invalid item 1: a topic item needs a non-empty 'type'.")]
    [InlineData("""{"items":[OK,{"topic":"news","type":"t","body":"x"}]}""", "Invalid item 1: a topic item takes 'type' and 'data'")]
    [InlineData("""{"items":[OK,{"userId":"a","type":"t","body":"x"}]}""", "Invalid item 1: 'type' and 'data' are for topic items")]
    [InlineData("""{"items":[OK,{"connectionId":"nope","body":"x"}]}""", "Invalid item 1: Invalid connectionId: nope")]
    [InlineData("""{"items":[OK,{"broadcast":true,"body":"x","exclude":["nope"]}]}""", "Invalid item 1: Invalid exclude: 'nope' is not a connection id.")]
    [InlineData("""{"items":[OK,{"broadcast":true,"body":"x","exclude":"x"}]}""", "Invalid item 1: 'exclude' must be an array of connection ids.")]
    [InlineData("""{"items":[OK,{"userId":"a","userId":"b","body":"x"}]}""", "Invalid item 1: 'userId' is given twice.")]
    public async Task A_malformed_item_makes_the_whole_batch_a_bad_request_and_nothing_is_sent(string body, string problem)
    {
        var host = shared.Host;
        await using var client = await host.ConnectAsync();
        var answer = await PostAsync(host, "/@batch", body.Replace("OK", $$"""{"connectionId":"{{client.Id}}","body":"first"}""", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal(ManagementErrors.BadRequest, answer.ErrorType);
        Assert.StartsWith(problem, answer.Message, StringComparison.Ordinal);
        await AssertNothingMoreAsync(client);
    }

    [Fact]
    public async Task A_batch_over_the_item_limit_is_413_as_a_whole()
    {
        await using var host = await StartAsync(("Gateway:Management:MaxBatchItems", "2"));
        await using var client = await host.ConnectAsync();
        var item = $$"""{"connectionId":"{{client.Id}}","body":"x"}""";
        var answer = await PostAsync(host, "/@batch", $$"""{"items":[{{item}},{{item}},{{item}}]}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.Status);
        Assert.Equal(ManagementErrors.PayloadTooLarge, answer.ErrorType);
        await AssertNothingMoreAsync(client);
    }

    [Fact]
    public async Task A_batch_over_the_byte_limit_is_413_as_a_whole_and_the_limit_is_not_the_message_limit()
    {
        await using var host = await StartAsync(("Gateway:Management:MaxBatchBytes", "300000"));
        await using var client = await host.ConnectAsync();
        var big = new string('x', 100 * 1024);
        var fits = await PostAsync(host, "/@batch", $$"""{"items":[{"connectionId":"{{client.Id}}","body":"{{big}}"},{"connectionId":"{{client.Id}}","body":"{{big}}"}]}""");
        Assert.Equal(HttpStatusCode.OK, fits.Status);
        Assert.Equal(big, await client.ReceiveTextAsync());
        Assert.Equal(big, await client.ReceiveTextAsync());

        var over = await PostAsync(host, "/@batch", $$"""{"items":[{"connectionId":"{{client.Id}}","body":"{{big}}{{big}}{{big}}"}]}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.Status);
        Assert.Equal(ManagementErrors.PayloadTooLarge, over.ErrorType);
        await AssertNothingMoreAsync(client);
    }

    [Fact]
    public async Task Many_items_to_one_connection_arrive_in_item_order()
    {
        await using var host = await StartAsync();
        await using var client = await host.ConnectAsync();
        var items = string.Join(',', Enumerable.Range(0, 200).Select(i => $$"""{"connectionId":"{{client.Id}}","body":"{{i}}"}"""));
        var answer = await PostAsync(host, "/@batch", $$"""{"items":[{{items}}]}""");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(200, answer.Json.GetProperty("results").GetArrayLength());
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await client.ReceiveTextAsync());
        }
    }

    [Fact]
    public async Task Other_methods_and_an_id_get_the_resources_own_answers()
    {
        await using var host = await StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using var get = await http.GetAsync(new Uri("/@batch", UriKind.Relative));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        using var withId = await http.PostAsync(new Uri("/@batch/x", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, withId.StatusCode);
    }
}
