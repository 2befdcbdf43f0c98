using System.Net;
using Gateway.Management;
using Gateway.Tests.Infrastructure;
using static Gateway.Tests.Management.ManagementCalls;

namespace Gateway.Tests.Management;

/// <summary><c>?exclude=</c> on the publishing resources: the connections named do not receive the message.</summary>
public class ExcludeTests
{
    private static Task<GatewayHost> StartAsync() => GatewayHost.StartAsync(
        new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        },
        realClock: true);

    [Fact]
    public async Task A_broadcast_skips_the_excluded_connections()
    {
        await using var host = await StartAsync();
        await using var one = await host.ConnectAsync();
        await using var two = await host.ConnectAsync();
        await using var three = await host.ConnectAsync();

        var answer = await PostAsync(host, $"/@broadcast?exclude={one.Id},{two.Id}", "hello", contentType: "text/plain");
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("""{"delivered":1}""", answer.Text);
        Assert.Equal("hello", await three.ReceiveTextAsync());
        await AssertNothingMoreAsync(one, two, three);
    }

    [Fact]
    public async Task A_user_send_skips_the_excluded_connection_of_that_user()
    {
        await using var host = await StartAsync();
        var now = DateTimeOffset.UtcNow;
        await using var phone = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");
        await using var laptop = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "alice")}");

        var answer = await PostAsync(host, $"/@users/alice?exclude={phone.Id}", "for alice", contentType: "text/plain");
        Assert.Equal("""{"delivered":1}""", answer.Text);
        Assert.Equal("for alice", await laptop.ReceiveTextAsync());
        await AssertNothingMoreAsync(phone, laptop);
    }

    [Theory]
    [InlineData("news.today")]
    [InlineData("events.today")]
    public async Task A_topic_publish_skips_the_excluded_subscriber_with_or_without_history(string topic)
    {
        await using var host = await StartAsync();
        await using var sender = await host.ConnectAsync();
        await using var other = await host.ConnectAsync();
        await SubscribeAsync(topic, sender, other);

        var answer = await PostAsync(host, $"/@topics/{topic}?exclude={sender.Id}&exclude=", """{"type":"said","data":"hi"}""");
        Assert.Equal("""{"delivered":1}""", answer.Text);
        var received = await Topics.TopicTests.NextJsonAsync(other);
        Assert.Equal("said", received.GetProperty("type").GetString());
        await AssertNothingMoreAsync(sender, other);
    }

    [Theory]
    [InlineData("/@broadcast?exclude=nope")]
    [InlineData("/@users/alice?exclude=nope")]
    [InlineData("/@topics/news?exclude=nope")]
    public async Task An_invalid_excluded_id_is_a_bad_request_and_nothing_is_sent(string path)
    {
        await using var host = await StartAsync();
        await using var client = await host.ConnectAsync();
        await SubscribeAsync("news", client);

        var answer = await PostAsync(host, path, """{"type":"t","data":1}""");
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal(ManagementErrors.BadRequest, answer.ErrorType);
        Assert.Equal("Invalid exclude: 'nope' is not a connection id.", answer.Message);
        await AssertNothingMoreAsync(client);
    }
}
