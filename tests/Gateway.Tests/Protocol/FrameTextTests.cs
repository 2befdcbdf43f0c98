using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Protocol;

/// <summary>
/// The raw text of frames on the wire, as <c>wscat</c> shows it: channels, types, ids and text written with only the
/// escapes JSON requires, never <c>\u003E</c> for <c>&gt;</c>.
/// </summary>
public sealed class FrameTextTests
{
    // A valid topic name with what the default JSON encoder escapes: <, &, ', +, non-ASCII and a character outside the BMP.
    private const string Topic = "events.org_1.<x&'+é😀";
    private const string Text = "a < b & c 'q' + 😀";

    private static string TopicPath(string topic, string query = "") => "/@topics/" + Uri.EscapeDataString(topic) + query;

    [Fact]
    public async Task Subscribed_and_event_frames_carry_the_channel_type_id_and_data_as_written()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"subscribe","channel":"events.org_1.>","id":"s<1>"}""");
        Assert.Equal("""{"type":"subscribed","channel":"events.org_1.>","id":"s<1>"}""", await client.ReceiveTextAsync());

        var (status, _) = await TopicTests.PostAsync(host, TopicPath(Topic), $$$"""{"type":"note<1>","data":{"text":"{{{Text}}}"}}""").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($$$"""{"type":"note<1>","channel":"{{{Topic}}}","data":{"text":"{{{Text}}}"}}""", await client.ReceiveTextAsync());

        await client.SendTextAsync($$"""{"action":"unsubscribe","channel":"{{Topic}}","id":"u>"}""");
        Assert.Equal($$"""{"type":"unsubscribed","channel":"{{Topic}}","id":"u>"}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Text_published_to_a_topic_is_a_JSON_string_with_only_the_escapes_JSON_requires()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{Topic}}"}""");
        Assert.Equal($$"""{"type":"subscribed","channel":"{{Topic}}"}""", await client.ReceiveTextAsync());

        var (status, _) = await TopicTests.PostAsync(host, TopicPath(Topic, "?type=note"), Text + "\n\"end\"\t\\", "text/plain").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($$"""{"type":"note","channel":"{{Topic}}","data":"{{Text}}\n\"end\"\t\\"}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task An_error_frame_echoes_the_channel_as_written()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Topics:Authorization:Templates:0"] = "events.{org_id}.>",
        });
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "alice", claims: new Dictionary<string, object> { ["org_id"] = "org_1" });
        await using var client = await host.ConnectAsync($"/?token={token}");
        await client.SendTextAsync("""{"action":"subscribe","channel":"events.org_2.>","id":"q<1>"}""");
        Assert.Equal(
            """{"type":"error","code":"unauthorized","message":"this connection may not subscribe to events.org_2.>","id":"q<1>"}""",
            await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Connector_frames_carry_the_backend_text_as_written()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (request, context) =>
        {
            if (request.Path == "/stream")
            {
                context.Response.ContentType = "application/x-ndjson";
                await context.Response.WriteAsync("{\"chunk\":\"<b>\"}\n{\"chunk\":\"😀 & 'é'\"}\n");
            }
            else
            {
                await context.Response.WriteAsync(Text);
            }
        };
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = backend.Url("/plain").ToString(),
            ["Gateway:Routes:ask:Integration:Envelope"] = "Connector",
            ["Gateway:Routes:stream:Integration:Type"] = "http",
            ["Gateway:Routes:stream:Integration:Uri"] = backend.Url("/stream").ToString(),
            ["Gateway:Routes:stream:Integration:Envelope"] = "Connector",
        });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask","id":"<1>"}""");
        Assert.Equal("""{"type":"ack","id":"<1>","message_number":1}""", await client.ReceiveTextAsync());
        Assert.Equal($$"""{"type":"response","id":"<1>","response":"{{Text}}","token_usage":null}""", await client.ReceiveTextAsync());

        await client.SendTextAsync("""{"action":"stream","id":"+2"}""");
        Assert.Equal("""{"type":"ack","id":"+2","message_number":2}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"stream_start","id":"+2"}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"stream_chunk","id":"+2","chunk":"<b>"}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"stream_chunk","id":"+2","chunk":"😀 & 'é'"}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"stream_end","id":"+2","full_response":"<b>😀 & 'é'","token_usage":null}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Text_streamed_to_a_topic_is_a_JSON_string_with_only_the_escapes_JSON_requires()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync($"data: {Text}\n\n");
        };
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = backend.Url("/ask").ToString(),
            ["Gateway:Routes:ask:Integration:StreamTopic"] = "conversation:{conversation_id}",
        });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"subscribe","channel":"conversation:<1&+"}""");
        Assert.Equal("""{"type":"subscribed","channel":"conversation:<1&+"}""", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"action":"ask","conversation_id":"<1&+"}""");
        Assert.Equal($$"""{"type":"message_stream","channel":"conversation:<1&+","data":"{{Text}}"}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Integration_events_carry_the_body_as_written()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$default:Integration:Type"] = "http",
            ["Gateway:Routes:$default:Integration:Uri"] = backend.Url("/default").ToString(),
        });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync(Text);
        var request = await backend.WaitForAsync(r => r.Path == "/default").WithTimeout();
        Assert.Contains($$"""
            "body":"{{Text}}"
            """, System.Text.Encoding.UTF8.GetString(request.Body), StringComparison.Ordinal);
    }
}
