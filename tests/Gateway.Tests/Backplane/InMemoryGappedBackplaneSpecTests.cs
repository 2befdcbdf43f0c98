using System.Text;
using Gateway.Backplane;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;
using Gateway.Topics;

namespace Gateway.Tests.Backplane;

/// <summary>
/// The backplane spec on <see cref="InMemoryBackplaneTransport"/> numbering every topic's events with one sequence, as a
/// JetStream stream does: a topic's offsets increase with gaps. The calls that ride only on messages are the same as
/// on <see cref="InMemoryBackplaneSpecTests"/> and are not run again.
/// </summary>
public sealed class InMemoryGappedBackplaneSpecTests : BackplaneSpec
{
    private readonly InMemoryBackplaneNetwork _network = new(consecutiveOffsets: false);

    protected override Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings) => InMemoryBackplaneSpecTests.StartNodeAsync(_network, settings);

    protected override IBackplaneTransport CreateTransport() => _network.Connect();

    protected override Task PublishRawToEventBusAsync(string topic, string body)
    {
        _network.PublishBusEvent(topic, Encoding.UTF8.GetBytes(body));
        return Task.CompletedTask;
    }

    [Fact]
    public async Task One_sequence_numbers_the_events_of_every_topic_so_a_topics_offsets_have_gaps()
    {
        var transport = CreateTransport();
        await using var disposable = (IAsyncDisposable)transport;
        Assert.False(transport.ConsecutiveOffsets);
        var t1 = await transport.AppendHistoryAsync(new HistoryEvent("events.t", "t", "1"u8.ToArray(), "{"u8.ToArray(), 10, TimeSpan.FromMinutes(1)));
        var u = await transport.AppendHistoryAsync(new HistoryEvent("events.u", "t", "1"u8.ToArray(), "{"u8.ToArray(), 10, TimeSpan.FromMinutes(1)));
        var t2 = await transport.AppendHistoryAsync(new HistoryEvent("events.t", "t", "1"u8.ToArray(), "{"u8.ToArray(), 10, TimeSpan.FromMinutes(1)));
        Assert.True(t1 < u && u < t2);

        var history = await transport.ReadHistoryAsync("events.t", TimeSpan.FromMinutes(1));
        Assert.Equal(t2, history.LastOffset);
        Assert.Equal([t1, t2], history.Events.Select(e => e.Offset));
        Assert.True(history.Complete);
    }

    [Fact]
    public async Task After_the_backplane_reconnects_a_node_reads_a_history_with_gaps_again_before_a_client_recovers_from_it()
    {
        await using var node = await StartHostAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Required"] = "false",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        });
        var cluster = node.Services.GetRequiredService<ClusterBackplane>();
        await Wait.UntilAsync(() => cluster.IsConnected, "the node announced itself", TimeSpan.FromSeconds(20));
        var hub = node.Services.GetRequiredService<TopicHub>();
        var publisher = node.Services.GetRequiredService<IGatewayPublisher>();

        await using var watcher = await node.ConnectAsync();
        await watcher.SendTextAsync("""{"action":"subscribe","channel":"events.r"}""");
        var epoch = (await TopicTests.NextJsonAsync(watcher)).GetProperty("epoch").GetString()!;
        var offsets = new List<long>();
        for (var n = 1; n <= 2; n++)
        {
            await publisher.PublishAsync("events.other", "tick", "0"u8.ToArray()).AsTask().WithTimeout();
            await publisher.PublishAsync("events.r", "tick", Encoding.UTF8.GetBytes($"{n}")).AsTask().WithTimeout();
            offsets.Add((await TopicTests.NextJsonAsync(watcher)).GetProperty("offset").GetInt64());
        }

        Assert.True(hub.IsSharedHistoryLoaded("events.r"));
        ((IBackplaneReceiver)cluster).OnReconnected();
        Assert.False(hub.IsSharedHistoryLoaded("events.r"));

        await using var back = await node.ConnectAsync();
        await back.SendTextAsync($$$"""{"action":"subscribe","channel":"events.r","since":{"offset":{{{offsets[0]}}},"epoch":"{{{epoch}}}"}}""");
        Assert.True((await TopicTests.NextJsonAsync(back)).GetProperty("recovered").GetBoolean());
        var recovered = await TopicTests.NextJsonAsync(back);
        Assert.Equal(offsets[1], recovered.GetProperty("offset").GetInt64());
        Assert.Equal(2, recovered.GetProperty("data").GetInt32());
        Assert.True(hub.IsSharedHistoryLoaded("events.r"));
    }
}
