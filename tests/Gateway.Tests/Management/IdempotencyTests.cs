using System.Net;
using Gateway.Management;
using Gateway.Tests.Infrastructure;
using static Gateway.Tests.Management.ManagementCalls;

namespace Gateway.Tests.Management;

/// <summary><c>Idempotency-Key</c>: a repeat within the window is answered with the first answer and delivers nothing.</summary>
public class IdempotencyTests
{
    private static Task<GatewayHost> StartAsync(string window = "00:05:00") => GatewayHost.StartAsync(
        new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Management:IdempotencyWindow"] = window,
        });

    [Theory]
    [InlineData("/@broadcast")]
    [InlineData("/@users/alice")]
    [InlineData("/@topics/news")]
    [InlineData("/@connections/{id}")]
    [InlineData("/@batch")]
    public async Task A_repeated_key_answers_the_first_answer_and_delivers_once(string resource)
    {
        await using var host = await StartAsync();
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), "alice")}");
        await SubscribeAsync("news", client);
        var path = resource.Replace("{id}", client.Id, StringComparison.Ordinal);
        var body = resource switch
        {
            "/@topics/news" => """{"type":"t","data":1}""",
            "/@batch" => $$"""{"items":[{"connectionId":"{{client.Id}}","body":"once"}]}""",
            _ => "once",
        };

        var first = await PostAsync(host, path, body, idempotencyKey: "k-1");
        var repeat = await PostAsync(host, path, body, idempotencyKey: "k-1");
        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(first.Status, repeat.Status);
        Assert.Equal(first.Text, repeat.Text);
        var received = await client.ReceiveTextAsync();
        Assert.Contains(resource == "/@topics/news" ? "\"t\"" : "once", received, StringComparison.Ordinal);
        await AssertNothingMoreAsync(client);
    }

    [Fact]
    public async Task The_first_answer_is_kept_even_when_it_is_an_error()
    {
        await using var host = await StartAsync();
        await using var client = await host.ConnectAsync();
        var gone = client.Id[..^1] + (client.Id[^1] == 'A' ? 'B' : 'A');

        var first = await PostAsync(host, $"/@connections/{gone}", "x", idempotencyKey: "k");
        var repeat = await PostAsync(host, $"/@connections/{gone}", "x", idempotencyKey: "k");
        Assert.Equal(HttpStatusCode.Gone, first.Status);
        Assert.Equal(HttpStatusCode.Gone, repeat.Status);
        Assert.Equal(ManagementErrors.Gone, repeat.ErrorType);
        Assert.Equal(first.Text, repeat.Text);
    }

    [Fact]
    public async Task A_key_is_scoped_to_its_resource_path_and_forgotten_after_the_window()
    {
        await using var host = await StartAsync();
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), "alice")}");

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, "/@broadcast", "one", idempotencyKey: "k")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, "/@users/alice", "two", idempotencyKey: "k")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, "/prod/@broadcast", "three", idempotencyKey: "k")).Status);
        host.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, "/@broadcast", "four", idempotencyKey: "k")).Status);

        Assert.Equal("one", await client.ReceiveTextAsync());
        Assert.Equal("two", await client.ReceiveTextAsync());
        Assert.Equal("four", await client.ReceiveTextAsync());
        await AssertNothingMoreAsync(client);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    public async Task An_invalid_key_is_a_bad_request(string key)
    {
        await using var host = await StartAsync();
        var answer = await PostAsync(host, "/@broadcast", "x", idempotencyKey: key);
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal(ManagementErrors.BadRequest, answer.ErrorType);
        Assert.StartsWith("Invalid Idempotency-Key", answer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pending_claim_makes_a_repeat_answer_conflict_and_deliver_nothing()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var backplane = host.Services.GetRequiredService<Gateway.Backplane.IBackplane>();
        var key = IdempotencyFilter.StoreKey("/@broadcast", "k");
        Assert.True(await backplane.SetKeyAsync(key, StoredAnswer.Pending, TimeSpan.FromMinutes(1), onlyIfAbsent: true, CancellationToken.None));

        // The repeat waits for the first call up to IdempotencyFilter.PendingWait of the gateway's clock, moved on here.
        var call = PostAsync(host, "/@broadcast", "x", idempotencyKey: "k");
        var advanced = TimeSpan.Zero;
        while (!call.IsCompleted && advanced < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
            host.Advance(TimeSpan.FromMilliseconds(100));
            advanced += TimeSpan.FromMilliseconds(100);
        }

        var answer = await call;
        Assert.True(advanced >= IdempotencyFilter.PendingWait, $"answered after {advanced} of the gateway's clock");
        Assert.Equal(HttpStatusCode.Conflict, answer.Status);
        Assert.Equal(ManagementErrors.Conflict, answer.ErrorType);
        await AssertNothingMoreAsync(client);
    }
}
