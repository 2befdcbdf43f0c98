using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Topics;

/// <summary>A streamed answer relayed to a topic: every subscriber of the conversation sees the tokens as they come.</summary>
public sealed class StreamToTopicTests
{
    [Fact]
    public async Task Every_subscriber_of_the_conversation_sees_the_stream_as_message_stream_events()
    {
        var gate = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "application/x-ndjson";
            await context.Response.WriteAsync("{\"chunk\":\"Hel\"}\n");
            await context.Response.Body.FlushAsync();
            await gate.Task;
            await context.Response.WriteAsync("{\"chunk\":\"lo\"}\n");
        };
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = backend.Url("/ask").ToString(),
            ["Gateway:Routes:ask:Integration:Envelope"] = "Connector",
            ["Gateway:Routes:ask:Integration:StreamTopic"] = "conversation:{conversation_id}",
        });
        await using var asker = await host.ConnectAsync();
        await using var watcher = await host.ConnectAsync();
        await using var elsewhere = await host.ConnectAsync();
        foreach (var (client, channel) in new[] { (asker, "conversation:conv-1"), (watcher, "conversation:conv-1"), (elsewhere, "conversation:conv-2") })
        {
            await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"}""");
            await client.ReceiveTextAsync();
        }

        await asker.SendTextAsync("""{"action":"ask","id":"m1","data":{"conversation_id":"conv-1","text":"hi"}}""");
        Assert.Equal("ack", (await TopicTests.NextJsonAsync(asker)).GetProperty("type").GetString());
        foreach (var client in new[] { asker, watcher })
        {
            var start = await TopicTests.NextJsonAsync(client);
            Assert.Equal("message_stream", start.GetProperty("type").GetString());
            Assert.Equal("conversation:conv-1", start.GetProperty("channel").GetString());
            Assert.Equal("stream_start", start.GetProperty("data").GetProperty("type").GetString());
            var chunk = (await TopicTests.NextJsonAsync(client)).GetProperty("data");
            Assert.Equal("Hel", chunk.GetProperty("chunk").GetString());
        }

        gate.SetResult();
        foreach (var client in new[] { asker, watcher })
        {
            Assert.Equal("lo", (await TopicTests.NextJsonAsync(client)).GetProperty("data").GetProperty("chunk").GetString());
            var end = (await TopicTests.NextJsonAsync(client)).GetProperty("data");
            Assert.Equal("stream_end", end.GetProperty("type").GetString());
            Assert.Equal("Hello", end.GetProperty("full_response").GetString());
        }

        await elsewhere.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("pong", (await TopicTests.NextJsonAsync(elsewhere)).GetProperty("type").GetString());

        // A message that does not name the conversation is refused before the backend is asked.
        var before = backend.Requests.Count;
        await asker.SendTextAsync("""{"action":"ask","data":{"text":"no conversation"}}""");
        Assert.Equal("ack", (await TopicTests.NextJsonAsync(asker)).GetProperty("type").GetString());
        var refused = await TopicTests.NextJsonAsync(asker);
        Assert.Equal("invalid_request", refused.GetProperty("code").GetString());
        Assert.Equal(before, backend.Requests.Count);
    }

    [Fact]
    public async Task A_caller_may_not_stream_to_a_topic_it_may_not_subscribe_to()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Topics:Authorization:Templates:0"] = "org.{org_id}.>",
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = backend.Url("/ask").ToString(),
            ["Gateway:Routes:ask:Integration:StreamTopic"] = "org.{org}.conversation.{conversation_id}",
        });
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "alice", claims: new Dictionary<string, object> { ["org_id"] = "org1" });
        await using var client = await host.ConnectAsync($"/?token={token}");
        await client.SendTextAsync("""{"action":"ask","org":"org2","conversation_id":"c1"}""");
        var refused = await TopicTests.NextJsonAsync(client);
        Assert.Equal("unauthorized", refused.GetProperty("code").GetString());
        Assert.Empty(backend.Requests);

        // Its own organisation's conversation goes to the backend.
        await client.SendTextAsync("""{"action":"ask","org":"org1","conversation_id":"c1"}""");
        await backend.WaitForAsync(r => r.Path == "/ask");
    }
}
