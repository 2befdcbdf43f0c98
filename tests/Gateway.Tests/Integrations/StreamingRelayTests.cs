using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Integrations;

/// <summary>Streamed answers relayed as they are produced. Gated, never timed: the backend holds back until the client has shown progress.</summary>
public class StreamingRelayTests
{
    private static Dictionary<string, string?> Settings(Uri backend, string envelope = "Raw") => new()
    {
        ["Gateway:Routes:ask:Integration:Type"] = "http",
        ["Gateway:Routes:ask:Integration:Uri"] = backend.ToString(),
        ["Gateway:Routes:ask:Integration:ReturnResponse"] = "true",
        ["Gateway:Routes:ask:Integration:Envelope"] = envelope,
        ["Gateway:Routes:ping:Handler"] = "mock",
        ["Gateway:Routes:ping:Response"] = "pong",
    };

    [Fact]
    public async Task Server_sent_events_are_relayed_one_by_one_as_the_backend_produces_them()
    {
        var gate = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: token\ndata: first\n\n");
            await context.Response.Body.FlushAsync();
            await gate.Task;
            await context.Response.WriteAsync(": a comment\ndata: second\ndata: line two\n\ndata: [DONE]\n\n");
        };
        await using var host = await GatewayHost.StartAsync(Settings(backend.Url("/stream")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");

        // The first event is at the client while the backend still holds the rest.
        Assert.Equal("first", await client.ReceiveTextAsync());

        // The stream does not hold up the client's next message.
        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("pong", await client.ReceiveTextAsync());

        gate.SetResult();
        Assert.Equal("second\nline two", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"action":"ping"}""");
        Assert.Equal("pong", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task The_connector_envelope_acks_streams_chunks_and_ends_with_the_full_response_and_usage()
    {
        var gate = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "application/x-ndjson";
            await context.Response.WriteAsync("{\"chunk\":\"Hel\"}\n");
            await context.Response.Body.FlushAsync();
            await gate.Task;
            await context.Response.WriteAsync("{\"chunk\":\"lo\"}\n{\"token_usage\":{\"input\":3,\"output\":2}}\n");
        };
        await using var host = await GatewayHost.StartAsync(Settings(backend.Url("/stream"), "Connector"));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask","id":"msg-1","text":"hi"}""");

        using (var ack = JsonDocument.Parse(await client.ReceiveTextAsync()))
        {
            Assert.Equal("ack", ack.RootElement.GetProperty("type").GetString());
            Assert.Equal("msg-1", ack.RootElement.GetProperty("id").GetString());
            Assert.Equal(1, ack.RootElement.GetProperty("message_number").GetInt32());
        }

        Assert.Equal("""{"type":"stream_start","id":"msg-1"}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"stream_chunk","id":"msg-1","chunk":"Hel"}""", await client.ReceiveTextAsync());
        gate.SetResult();
        Assert.Equal("""{"type":"stream_chunk","id":"msg-1","chunk":"lo"}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"stream_end","id":"msg-1","full_response":"Hello","token_usage":{"input":3,"output":2}}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task With_streaming_off_the_connector_envelope_sends_one_response()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (_, context) => context.Response.WriteAsJsonAsync(new { text = "whole answer", usage = new { output = 2 } });
        await using var host = await GatewayHost.StartAsync(Settings(backend.Url("/plain"), "Connector"));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask","id":42}""");
        Assert.Equal("""{"type":"ack","id":42,"message_number":1}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"response","id":42,"response":"whole answer","token_usage":{"output":2}}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_cancels_the_backend_request()
    {
        var backendSawAbort = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: first\n\n");
            await context.Response.Body.FlushAsync();
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                backendSawAbort.TrySetResult();
            }
        };
        await using var host = await GatewayHost.StartAsync(Settings(backend.Url("/stream")));
        var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("first", await client.ReceiveTextAsync());
        await client.CloseAsync();
        await client.DisposeAsync();
        await backendSawAbort.Task.WithTimeout();
    }
}
