using System.Diagnostics;
using System.Text;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

public class SlowConsumerTests
{
    [Fact]
    public async Task A_client_that_stops_reading_is_closed_with_1013_while_50_others_keep_receiving_on_time()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:SendQueueLimit"] = "16" });
        var good = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => host.ConnectAsync()));
        await using var slow = await host.ConnectRawAsync(receiveBufferSize: 4096);
        var slowId = await slow.ReadConnectedAsync();
        var padding = new string('p', 16 * 1024);
        var worst = TimeSpan.Zero;
        var sent = 0;
        SendResult slowResult;
        try
        {
            do
            {
                var payload = Encoding.UTF8.GetBytes($"{sent}:{padding}");
                var started = Stopwatch.GetTimestamp();
                slowResult = await host.Sender.SendAsync(slowId, OutboundMessage.Text(payload));
                foreach (var client in good)
                {
                    Assert.Equal(SendResult.Sent, await host.Sender.SendAsync(client.Id, OutboundMessage.Text(payload)));
                }

                foreach (var client in good)
                {
                    Assert.StartsWith($"{sent}:", await client.ReceiveTextAsync(), StringComparison.Ordinal);
                }

                var elapsed = Stopwatch.GetElapsedTime(started);
                worst = elapsed > worst ? elapsed : worst;
                sent++;
            }
            while (slowResult == SendResult.Sent && sent < 5000);

            // The send that found the queue full was told so; every later one finds the connection gone.
            Assert.Equal(SendResult.QueueFull, slowResult);
            Assert.Equal(SendResult.Gone, await host.Sender.SendAsync(slowId, OutboundMessage.Text("late"u8.ToArray())));

            // Its writer is stuck on a peer that does not read: the close deadline cuts it off.
            host.Advance(TimeSpan.FromSeconds(5));
            var e = await host.Events.DisconnectOf(slowId);
            Assert.Equal(CloseCodes.TryAgainLater, e.StatusCode);
            Assert.Equal("Slow consumer", e.Reason);

            // Nobody else was held up: each round to 50 clients stayed well under a second, and all still work.
            Assert.True(worst < TimeSpan.FromSeconds(1), $"slowest round took {worst}");
            foreach (var client in good)
            {
                Assert.True(host.Connection(client.Id).IsOpen);
            }

            await good[0].SendTextAsync("""{"action":"sendmessage","text":"after"}""");
            foreach (var client in good)
            {
                Assert.Contains("after", await client.ReceiveTextAsync(), StringComparison.Ordinal);
            }
        }
        finally
        {
            foreach (var client in good)
            {
                await client.DisposeAsync();
            }
        }
    }
}
