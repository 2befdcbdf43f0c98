using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>
/// A push through <c>POST /@connections/{id}</c> is written to the socket by the request's own thread when the
/// connection's writer is idle. The writer stays one at a time and in order, whoever runs it.
/// </summary>
public class WriteThroughTests
{
    [Fact]
    public async Task Pushes_from_many_senders_arrive_whole_and_each_senders_in_order_and_a_close_among_them_flushes_every_accepted_one()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/") };
        var accepted = new ConcurrentBag<string>();
        var deleted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Eight senders push 150 numbered messages each; after the 600th accepted push, the connection is deleted.
        var senders = Enumerable.Range(0, 8).Select(sender => Task.Run(async () =>
        {
            for (var i = 0; i < 150; i++)
            {
                var body = $"{sender}:{i}:" + new string('x', 100 + (i % 7) * 400);
                var answer = await http.PostAsync($"@connections/{client.Id}", new StringContent(body));
                if (answer.StatusCode == HttpStatusCode.OK)
                {
                    accepted.Add(body);
                    if (accepted.Count == 600)
                    {
                        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"@connections/{client.Id}")).StatusCode);
                        deleted.TrySetResult();
                    }
                }
                else
                {
                    Assert.Equal(HttpStatusCode.Gone, answer.StatusCode);
                }
            }
        })).ToList();

        var received = new List<string>();
        while (true)
        {
            var frame = await client.ReceiveAsync();
            if (frame.Type == WebSocketMessageType.Close)
            {
                Assert.Equal(1000, frame.CloseStatus);
                break;
            }

            received.Add(frame.Text);
        }

        await Task.WhenAll(senders).WithTimeout();
        await deleted.Task.WithTimeout();

        // Every push answered 200 was written before the close frame, whole; each sender's arrived in its order.
        Assert.Equal(accepted.OrderBy(s => s, StringComparer.Ordinal), received.OrderBy(s => s, StringComparer.Ordinal));
        foreach (var group in received.GroupBy(r => r.Split(':')[0]))
        {
            var numbers = group.Select(r => int.Parse(r.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(numbers.Order(), numbers);
        }

        Assert.True(received.Count >= 600);
    }
}
