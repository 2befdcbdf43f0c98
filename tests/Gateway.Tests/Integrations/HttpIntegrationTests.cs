using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Integrations;

public partial class HttpIntegrationTests
{
    private static Dictionary<string, string?> Route(string key, Uri uri, bool returnResponse = false, string format = "Lambda") => new()
    {
        [$"Gateway:Routes:{key}:Integration:Type"] = "http",
        [$"Gateway:Routes:{key}:Integration:Uri"] = uri.ToString(),
        [$"Gateway:Routes:{key}:Integration:ReturnResponse"] = returnResponse ? "true" : "false",
        [$"Gateway:Routes:{key}:Integration:RequestFormat"] = format,
    };

    private static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts) =>
        parts.SelectMany(p => p).ToDictionary(p => p.Key, p => p.Value);

    private static JsonElement Golden(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Integrations", "Golden", name))).RootElement;

    /// <summary>The same fields at every level, with values of the same JSON kind.</summary>
    private static void AssertSameShape(JsonElement expected, JsonElement actual, string at = "$")
    {
        Assert.True(expected.ValueKind == actual.ValueKind || expected.ValueKind is JsonValueKind.True or JsonValueKind.False && actual.ValueKind is JsonValueKind.True or JsonValueKind.False,
            $"{at}: expected {expected.ValueKind}, got {actual.ValueKind}");
        if (expected.ValueKind == JsonValueKind.Object)
        {
            var want = expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
            var got = actual.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
            Assert.True(want.SequenceEqual(got), $"{at}: expected fields [{string.Join(", ", want)}], got [{string.Join(", ", got)}]");
            foreach (var property in expected.EnumerateObject())
            {
                AssertSameShape(property.Value, actual.GetProperty(property.Name), $"{at}.{property.Name}");
            }
        }
    }

    [GeneratedRegex(@"^\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")]
    private static partial Regex CommonLogFormat();

    [Fact]
    public async Task A_message_event_has_exactly_the_fields_and_formats_Amazon_sends()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(Route("$default", backend.Url("/events")));
        await using var client = await host.ConnectAsync(configure: o => o.SetRequestHeader("User-Agent", "Mozilla/5.0 golden"));
        host.Advance(TimeSpan.FromSeconds(3));
        await client.SendTextAsync("{\r\n\t\"a\": 1\r\n}");
        var e = (await backend.WaitForAsync(r => r.Path == "/events")).Json;

        AssertSameShape(Golden("message.json"), e);
        var rc = e.GetProperty("requestContext");
        Assert.Equal("$default", rc.GetProperty("routeKey").GetString());
        Assert.Equal("MESSAGE", rc.GetProperty("eventType").GetString());
        Assert.Equal("IN", rc.GetProperty("messageDirection").GetString());
        Assert.Equal("prod", rc.GetProperty("stage").GetString());
        Assert.Equal(client.Id, rc.GetProperty("connectionId").GetString());
        Assert.Equal($"localhost:{host.ManagementEndPoint.Port}", rc.GetProperty("domainName").GetString());
        Assert.Equal("gateway", rc.GetProperty("apiId").GetString());
        Assert.Equal(rc.GetProperty("requestId").GetString(), rc.GetProperty("extendedRequestId").GetString());
        Assert.NotEqual(rc.GetProperty("requestId").GetString(), rc.GetProperty("messageId").GetString());
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(start.ToUnixTimeMilliseconds(), rc.GetProperty("connectedAt").GetInt64());
        Assert.Equal(start.AddSeconds(3).ToUnixTimeMilliseconds(), rc.GetProperty("requestTimeEpoch").GetInt64());
        Assert.Equal("01/Jan/2026:00:00:03 +0000", rc.GetProperty("requestTime").GetString());
        Assert.Matches(CommonLogFormat(), rc.GetProperty("requestTime").GetString()!);
        Assert.Equal("Mozilla/5.0 golden", rc.GetProperty("identity").GetProperty("userAgent").GetString());
        Assert.Equal("127.0.0.1", rc.GetProperty("identity").GetProperty("sourceIp").GetString());
        Assert.Equal("{\r\n\t\"a\": 1\r\n}", e.GetProperty("body").GetString());
        Assert.False(e.GetProperty("isBase64Encoded").GetBoolean());
    }

    [Fact]
    public async Task A_binary_message_is_carried_in_base64()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(Route("$default", backend.Url("/events")));
        await using var client = await host.ConnectAsync();
        await client.SendAsync([0, 1, 2, 255], WebSocketMessageType.Binary);
        var e = (await backend.WaitForAsync(_ => true)).Json;
        Assert.True(e.GetProperty("isBase64Encoded").GetBoolean());
        Assert.Equal([0, 1, 2, 255], Convert.FromBase64String(e.GetProperty("body").GetString()!));
    }

    [Fact]
    public async Task Connect_and_disconnect_events_have_Amazons_fields_and_the_close_code()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(Merge(Route("$connect", backend.Url("/connect")), Route("$disconnect", backend.Url("/disconnect"))), recordDisconnect: false);
        await using (var withQuery = await host.ConnectAsync("/prod?room=a&room=b&token=x", configure: o =>
        {
            o.SetRequestHeader("X-Custom", "yes");
            o.SetRequestHeader("User-Agent", "test-agent");
        }))
        {
            var connect = (await backend.WaitForAsync(r => r.Path == "/connect")).Json;
            var rc = connect.GetProperty("requestContext");
            var messageFields = Golden("message.json").GetProperty("requestContext").EnumerateObject().Select(p => p.Name).Where(n => n != "messageId").Order(StringComparer.Ordinal);
            Assert.Equal(messageFields, rc.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
            Assert.Equal("$connect", rc.GetProperty("routeKey").GetString());
            Assert.Equal("CONNECT", rc.GetProperty("eventType").GetString());
            Assert.Equal("yes", connect.GetProperty("headers").GetProperty("X-Custom").GetString());
            Assert.Equal("yes", connect.GetProperty("multiValueHeaders").GetProperty("X-Custom")[0].GetString());
            Assert.Equal("b", connect.GetProperty("queryStringParameters").GetProperty("room").GetString());
            Assert.Equal(["a", "b"], connect.GetProperty("multiValueQueryStringParameters").GetProperty("room").EnumerateArray().Select(v => v.GetString()));
            Assert.False(connect.TryGetProperty("body", out _));
            await withQuery.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "going");
            var disconnect = (await backend.WaitForAsync(r => r.Path == "/disconnect")).Json;
            AssertSameShape(Golden("disconnect.json"), disconnect);
            Assert.Equal(1001, disconnect.GetProperty("requestContext").GetProperty("disconnectStatusCode").GetInt32());
            Assert.Equal("going", disconnect.GetProperty("requestContext").GetProperty("disconnectReason").GetString());
            Assert.Equal(withQuery.Id, disconnect.GetProperty("requestContext").GetProperty("connectionId").GetString());
        }

        await using var noQuery = await host.ConnectAsync();
        var plain = (await backend.WaitForAsync(r => r.Path == "/connect" && r.Json.GetProperty("requestContext").GetProperty("connectionId").GetString() == noQuery.Id)).Json;
        Assert.False(plain.TryGetProperty("queryStringParameters", out _));
        Assert.False(plain.TryGetProperty("multiValueQueryStringParameters", out _));
    }

    [Theory]
    [InlineData(403, null)]
    [InlineData(401, "lambda")]
    [InlineData(429, null)]
    public async Task A_connect_backend_rejects_with_its_status_plain_or_lambda_result(int status, string? style)
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = async (_, context) =>
        {
            if (style == "lambda")
            {
                await context.Response.WriteAsync($$"""{"statusCode":{{status}},"body":"no"}""");
            }
            else
            {
                context.Response.StatusCode = status;
            }
        };
        await using var host = await GatewayHost.StartAsync(Route("$connect", backend.Url("/connect")));
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
        Assert.Equal((HttpStatusCode)status, socket.HttpStatusCode);
        Assert.Equal(0, host.Registry.SlotsInUse);
    }

    [Fact]
    public async Task An_unreachable_connect_backend_answers_502_and_a_chosen_subprotocol_is_selected()
    {
        var closedPort = new Uri("http://127.0.0.1:9/connect");
        await using (var host = await GatewayHost.StartAsync(Route("$connect", closedPort)))
        {
            using var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
            Assert.Equal(HttpStatusCode.BadGateway, socket.HttpStatusCode);
        }

        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (_, context) =>
        {
            context.Response.Headers["Sec-WebSocket-Protocol"] = "chat.v2";
            return Task.CompletedTask;
        };
        await using var accepting = await GatewayHost.StartAsync(Route("$connect", backend.Url("/connect")));
        await using var client = await accepting.ConnectAsync(configure: o => { o.AddSubProtocol("chat.v1"); o.AddSubProtocol("chat.v2"); });
        Assert.Equal("chat.v2", client.Socket.SubProtocol);
    }

    [Fact]
    public async Task A_two_way_route_sends_the_answer_back_plain_or_from_a_lambda_result()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (request, context) => request.Json.GetProperty("body").GetString()!.Contains("lambda", StringComparison.Ordinal)
            ? context.Response.WriteAsync("""{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"from a lambda result"}""")
            : context.Response.WriteAsync("""{"reply":"plain json is a plain body"}""");
        await using var host = await GatewayHost.StartAsync(Merge(Route("ask", backend.Url("/ask"), returnResponse: true), Route("tell", backend.Url("/tell"))));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask","style":"lambda"}""");
        Assert.Equal("from a lambda result", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("""{"reply":"plain json is a plain body"}""", await client.ReceiveTextAsync());

        // One-way: the backend gets it, the caller gets nothing back.
        await client.SendTextAsync("""{"action":"tell"}""");
        await backend.WaitForAsync(r => r.Path == "/tell");
        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("""{"reply":"plain json is a plain body"}""", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_failing_backend_gives_the_caller_Internal_server_error_and_the_connection_stays()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        var gate = new TaskCompletionSource();
        backend.Answer = async (request, context) =>
        {
            var body = request.Json.GetProperty("body").GetString()!;
            if (body.Contains("slow", StringComparison.Ordinal))
            {
                await gate.Task;
            }
            else if (body.Contains("500", StringComparison.Ordinal))
            {
                context.Response.StatusCode = 500;
            }
            else if (body.Contains("lambda502", StringComparison.Ordinal))
            {
                await context.Response.WriteAsync("""{"statusCode":502}""");
            }
            else
            {
                await context.Response.WriteAsync("ok");
            }
        };
        await using var host = await GatewayHost.StartAsync(Merge(
            Route("ask", backend.Url("/ask"), returnResponse: true),
            Route("gone", new Uri("http://127.0.0.1:9/nothing"), returnResponse: true),
            new() { ["Gateway:Routes:ask:Integration:Timeout"] = "00:00:05" }));
        await using var client = await host.ConnectAsync();

        foreach (var message in new[] { """{"action":"ask","x":"500"}""", """{"action":"ask","x":"lambda502"}""", """{"action":"gone"}""" })
        {
            await client.SendTextAsync(message);
            using var doc = JsonDocument.Parse(await client.ReceiveTextAsync());
            Assert.Equal("Internal server error", doc.RootElement.GetProperty("message").GetString());
            Assert.Equal(client.Id, doc.RootElement.GetProperty("connectionId").GetString());
        }

        await client.SendTextAsync("""{"action":"ask","x":"slow"}""");
        await backend.WaitForAsync(r => r.Json.GetProperty("body").GetString()!.Contains("slow", StringComparison.Ordinal));
        host.Advance(TimeSpan.FromSeconds(5));
        using (var doc = JsonDocument.Parse(await client.ReceiveTextAsync()))
        {
            Assert.Equal("Internal server error", doc.RootElement.GetProperty("message").GetString());
        }

        gate.SetResult();
        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("ok", await client.ReceiveTextAsync());
        Assert.True(host.Connection(client.Id).IsOpen);
    }

    [Fact]
    public async Task The_raw_format_posts_the_body_with_the_ids_in_headers()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(Route("$default", backend.Url("/raw"), format: "Raw"));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("just text");
        var request = await backend.WaitForAsync(_ => true);
        Assert.Equal("just text", Encoding.UTF8.GetString(request.Body));
        Assert.Equal(client.Id, request.Headers["connectionId"].ToString());
        Assert.Equal("$default", request.Headers["routeKey"].ToString());
        Assert.Equal("MESSAGE", request.Headers["eventType"].ToString());
        Assert.False(string.IsNullOrEmpty(request.Headers["requestId"].ToString()));
        Assert.StartsWith("text/plain", request.Headers.ContentType.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_sent_just_before_closing_still_reaches_the_backend()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(Route("$default", backend.Url("/events")));
        var client = await host.ConnectAsync();
        await client.SendTextAsync("last words");
        await client.CloseAsync();
        await client.DisposeAsync();
        var e = await backend.WaitForAsync(_ => true);
        Assert.Equal("last words", e.Json.GetProperty("body").GetString());
        Assert.Equal(CloseCodes.Normal, (await host.Events.DisconnectOf(client.Id)).StatusCode);
    }
}
