using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.ScaleOut;

/// <summary>Topic history on NATS, where one JetStream stream keeps (and numbers) every topic of a history pattern.</summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsHistoryTests
{
    [Fact]
    public async Task A_node_reading_a_topics_history_takes_only_that_topics_events_from_the_stream_it_shares_with_other_topics()
    {
        await using var nats = await NatsServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Nats:Url"] = nats.Url,
            ["Gateway:Topics:History:0:Pattern"] = "rooms.>",
        };
        await using var a = await StartAsync(settings);
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{a.ManagementEndPoint.Port}") };
        await PublishAsync(management, "rooms.a", 1);
        await PublishAsync(management, "rooms.b", 2);

        // A node started now reads rooms.a's history from the stream: its last offset is rooms.a's, not the stream's.
        await using var b = await StartAsync(settings);
        await using var first = await b.ConnectAsync("/");
        await first.SendTextAsync("""{"action":"subscribe","channel":"rooms.a"}""");
        var subscribed = JsonDocument.Parse(await first.ReceiveTextAsync()).RootElement;
        Assert.Equal(1, subscribed.GetProperty("offset").GetInt64());
        var epoch = subscribed.GetProperty("epoch").GetString();

        // A client that saw rooms.a's offset 1 missed nothing of rooms.a: rooms.b's event is never replayed to it.
        await using var back = await b.ConnectAsync("/");
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"rooms.a","since":{"offset":1,"epoch":"{{{epoch}}}"}}""");
        var recovered = JsonDocument.Parse(await back.ReceiveTextAsync()).RootElement;
        Assert.True(recovered.GetProperty("recovered").GetBoolean(), recovered.GetRawText());
        await PublishAsync(management, "rooms.a", 3);
        Assert.Equal("""{"type":"tick","channel":"rooms.a","data":3,"offset":3}""", await back.ReceiveTextAsync());
        Assert.Equal("""{"type":"tick","channel":"rooms.a","data":3,"offset":3}""", await first.ReceiveTextAsync());
    }

    private static async Task<GatewayHost> StartAsync(Dictionary<string, string?> settings)
    {
        var host = await GatewayHost.StartAsync(settings, realClock: true);
        await Wait.UntilAsync(() => host.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node announced itself on NATS");
        return host;
    }

    private static async Task PublishAsync(HttpClient management, string topic, int data)
    {
        using var body = new StringContent($$"""{"type":"tick","data":{{data}}}""", Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.OK, (await management.PostAsync(new Uri($"/@topics/{topic}", UriKind.Relative), body)).StatusCode);
    }
}
