using System.Net;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Operations;

/// <summary>A scrape of /metrics after known traffic shows the right counts. Alone, so no other host's meters add in.</summary>
[Collection(SerialProcesses.Name)]
public sealed class MetricsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_scrape_after_known_traffic_shows_the_counts()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:AllowedOrigins:0"] = "https://app.example.com",
        });
        await using var staying = await host.ConnectAsync();
        await using (var leaving = await host.ConnectAsync())
        {
            await leaving.SendTextAsync("one");
            await leaving.ReceiveTextAsync();
            await leaving.CloseAsync();
            await host.Events.DisconnectOf(leaving.Id);
        }

        for (var i = 0; i < 3; i++)
        {
            await staying.SendTextAsync($$"""{"action":"sendmessage","n":{{i}}}""");
            await staying.ReceiveTextAsync();
        }

        await staying.SendTextAsync("""{"action":"subscribe","channel":"news"}""");
        await staying.ReceiveTextAsync();
        using (var socket = new System.Net.WebSockets.ClientWebSocket())
        {
            socket.Options.SetRequestHeader("Origin", "https://evil.example.com");
            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => socket.ConnectAsync(host.ClientUri(), CancellationToken.None));
        }

        using var http = new HttpClient();
        var scrape = await http.GetStringAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/metrics"));
        output.WriteLine(scrape);
        void Has(string name, string labels, long value) => AssertSeries(scrape, name, labels, value);
        Has("gateway_connections_opened_total", "protocol=\"HTTP/1.1\"", 2);
        Has("gateway_connections_closed_total", "close_code=\"1000\"", 1);
        Has("gateway_connections_active", "", 1);
        Has("gateway_messages_received_total", "route=\"$default\"", 1);
        Has("gateway_messages_received_total", "route=\"sendmessage\"", 3);
        Has("gateway_messages_received_total", "route=\"subscribe\"", 1);
        Has("gateway_handshakes_rejected_total", "reason=\"origin\",status=\"403\"", 1);
        Has("gateway_topics_subscriptions", "", 1);

        // Frames out: two connected frames, the echo, three broadcasts back to the sender, the subscribed answer.
        Has("gateway_messages_sent_total", "", 7);

        // Not on the client listener.
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}/metrics"))).StatusCode);
    }

    [Fact]
    public async Task Errors_by_kind_integration_latency_slow_consumers_and_bytes_are_counted()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:SendQueueLimit"] = "4",
            ["Gateway:Routes:join:Integration:Type"] = "http",
            ["Gateway:Routes:join:Integration:Uri"] = "http://127.0.0.1:1/", // nobody listens there
        }, g => g.MapRoute<Functional.HandshakeTests.ThrowingHandler>("boom"));
        await using var client = await host.ConnectAsync();
        foreach (var (message, answer) in new[]
        {
            ("""{"action":"nosuch"}""", "Forbidden"),
            ("""{"action":"join"}""", "Internal server error"),
            ("""{"action":"boom"}""", "Internal server error"),
            ("""{"action":"boom"}""", "Internal server error"),
        })
        {
            await client.SendTextAsync(message);
            Assert.Contains(answer, await client.ReceiveTextAsync(), StringComparison.Ordinal);
        }

        // A client that reads nothing: its queue of four fills up and it is closed with 1013.
        await using var slow = await host.ConnectRawAsync(receiveBufferSize: 4096);
        var slowId = await slow.ReadConnectedAsync();
        var big = new byte[64 * 1024];
        Array.Fill(big, (byte)'x');
        var result = Gateway.Connections.SendResult.Sent;
        for (var i = 0; i < 1000 && result == Gateway.Connections.SendResult.Sent; i++)
        {
            result = await host.Sender.SendAsync(slowId, Gateway.Connections.OutboundMessage.Text(big));
        }

        Assert.Equal(Gateway.Connections.SendResult.QueueFull, result);
        using var http = new HttpClient();
        var scrape = await http.GetStringAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/metrics"));
        output.WriteLine(scrape);
        void Has(string name, string labels, long value) => AssertSeries(scrape, name, labels, value);
        Has("gateway_errors_total", "kind=\"client\"", 1);
        Has("gateway_errors_total", "kind=\"integration\"", 1);
        Has("gateway_errors_total", "kind=\"execution\"", 2);
        Has("gateway_integration_duration_milliseconds_count", "outcome=\"failure\",route=\"join\"", 1);
        Has("gateway_slow_consumer_closes_total", "", 1);
        Has("gateway_messages_received_total", "route=\"boom\"", 2);
        Has("gateway_messages_received_bytes_total", "route=\"boom\"", 2 * """{"action":"boom"}""".Length);

        // The slow client's queue still holds what it was sent when the scrape reads it.
        var depth = System.Text.RegularExpressions.Regex.Match(scrape, "gateway_send_queue_depth\\{otel_scope_name=\"Gateway\"\\} (\\d+)");
        Assert.True(depth.Success && int.Parse(depth.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, "send-queue depth");
    }

    private static void AssertSeries(string scrape, string name, string labels, long value) =>
        Assert.Contains($"{name}{{otel_scope_name=\"Gateway\"{(labels.Length > 0 ? "," + labels : "")}}} {value}\n", scrape, StringComparison.Ordinal);
}
