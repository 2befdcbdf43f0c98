using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Integrations;

/// <summary>What bounds an integration: deadlines, sizes, stream slots, and what the caller is told when one is hit.</summary>
public class IntegrationLimitsTests
{
    private static Dictionary<string, string?> Ask(Uri backend, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = backend.ToString(),
            ["Gateway:Routes:ask:Integration:ReturnResponse"] = "true",
        };
        foreach (var (key, value) in extra)
        {
            settings["Gateway:Routes:ask:Integration:" + key] = value;
        }

        return settings;
    }

    private static async Task AssertInternalErrorAsync(TestClient client)
    {
        using var doc = JsonDocument.Parse(await client.ReceiveTextAsync());
        Assert.Equal("Internal server error", doc.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_fast_stream_is_paced_by_the_client_instead_of_closing_it_as_a_slow_consumer()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "application/x-ndjson";
            for (var i = 0; i < 3000; i++)
            {
                await context.Response.WriteAsync($"{i}\n");
            }
        };
        await using var host = await GatewayHost.StartAsync(Merge(Ask(backend.Url("/stream")), new() { ["Gateway:Connections:SendQueueLimit"] = "16" }));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");
        for (var i = 0; i < 3000; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await client.ReceiveTextAsync());
        }

        Assert.True(host.Connection(client.Id).IsOpen);
    }

    [Fact]
    public async Task The_timeout_covers_the_whole_answer_not_the_headers_and_the_body_each()
    {
        var headersSent = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentLength = 100;
            await context.Response.Body.FlushAsync();
            headersSent.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        };
        await using var host = await GatewayHost.StartAsync(Ask(backend.Url("/stall"), ("Timeout", "00:00:05")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");
        await headersSent.Task.WithTimeout();
        host.Advance(TimeSpan.FromSeconds(5));
        await AssertInternalErrorAsync(client);
    }

    [Fact]
    public async Task A_chunked_answer_over_the_size_limit_is_a_failure()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        var chunk = new byte[1024 * 1024];
        backend.Answer = async (_, context) =>
        {
            for (var i = 0; i < 17; i++)
            {
                await context.Response.Body.WriteAsync(chunk);
            }
        };
        await using var host = await GatewayHost.StartAsync(Ask(backend.Url("/huge")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");
        await AssertInternalErrorAsync(client);
    }

    [Fact]
    public async Task A_failing_status_stands_even_when_the_body_looks_like_a_successful_lambda_result()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync("""{"statusCode":200,"body":"all fine"}""");
        };
        await using var host = await GatewayHost.StartAsync(Ask(backend.Url("/lies")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");
        await AssertInternalErrorAsync(client);
    }

    [Fact]
    public async Task A_connect_backend_that_breaks_off_its_answer_gives_502()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentLength = 1000;
            await context.Response.WriteAsync("partial");
            await context.Response.Body.FlushAsync();
            context.Abort();
        };
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$connect:Integration:Type"] = "http",
            ["Gateway:Routes:$connect:Integration:Uri"] = backend.Url("/connect").ToString(),
        });
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadGateway, socket.HttpStatusCode);
    }

    [Fact]
    public async Task Streams_per_connection_are_limited_and_a_silent_stream_is_ended()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: started\n\n");
            await context.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        };
        await using var host = await GatewayHost.StartAsync(Ask(backend.Url("/stream"), ("MaxStreamsPerConnection", "1"), ("StreamIdleTimeout", "00:00:10")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("started", await client.ReceiveTextAsync());

        await client.SendTextAsync("""{"action":"ask"}""");
        await AssertInternalErrorAsync(client);

        // Ten silent seconds end the first stream, and the client is told.
        host.Advance(TimeSpan.FromSeconds(10));
        await AssertInternalErrorAsync(client);
        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("started", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_connector_stream_the_backend_breaks_off_ends_with_an_error_frame()
    {
        var chunkSeen = new TaskCompletionSource();
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            context.Response.ContentType = "application/x-ndjson";
            await context.Response.WriteAsync("{\"chunk\":\"par\"}\n");
            await context.Response.Body.FlushAsync();
            await chunkSeen.Task;
            context.Abort();
        };
        await using var host = await GatewayHost.StartAsync(Ask(backend.Url("/stream"), ("Envelope", "Connector")));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask","id":"m1"}""");
        Assert.Contains("\"ack\"", await client.ReceiveTextAsync(), StringComparison.Ordinal);
        Assert.Equal("""{"type":"stream_start","id":"m1"}""", await client.ReceiveTextAsync());
        Assert.Equal("""{"type":"stream_chunk","id":"m1","chunk":"par"}""", await client.ReceiveTextAsync());
        chunkSeen.SetResult();
        Assert.Equal("""{"type":"error","id":"m1","code":"internal_error","message":"The stream ended early."}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task An_environment_override_can_turn_a_handler_route_into_an_integration()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$default:Handler"] = "echo",
            ["Gateway:Routes:_default:Integration:Type"] = "mock",
            ["Gateway:Routes:_default:Integration:Response"] = "overridden",
        });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("x");
        Assert.Equal("overridden", await client.ReceiveTextAsync());
    }

    private static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts) =>
        parts.SelectMany(p => p).ToDictionary(p => p.Key, p => p.Value);
}
