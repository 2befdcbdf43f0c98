using Gateway.Backplane;

namespace Gateway.Tests.Backplane;

/// <summary>
/// The backplane spec on <see cref="InMemoryBackplaneTransport"/> numbering every topic's events with one sequence, as a
/// JetStream stream does: a topic's offsets increase with gaps.
/// </summary>
public sealed class InMemoryGappedBackplaneSpecTests() : InMemoryBackplaneSpecTests(new InMemoryBackplaneNetwork(consecutiveOffsets: false))
{
    [Fact]
    public async Task One_sequence_numbers_the_events_of_every_topic_so_a_topics_offsets_have_gaps()
    {
        var transport = CreateTransport();
        await using var disposable = (IAsyncDisposable)transport;
        Assert.False(transport.ConsecutiveOffsets);
        var t1 = await transport.AppendHistoryAsync("events.t", "{"u8.ToArray(), 10, TimeSpan.FromMinutes(1));
        var u = await transport.AppendHistoryAsync("events.u", "{"u8.ToArray(), 10, TimeSpan.FromMinutes(1));
        var t2 = await transport.AppendHistoryAsync("events.t", "{"u8.ToArray(), 10, TimeSpan.FromMinutes(1));
        Assert.True(t1 < u && u < t2);

        var history = await transport.ReadHistoryAsync("events.t", TimeSpan.FromMinutes(1));
        Assert.Equal(t2, history.LastOffset);
        Assert.Equal([t1, t2], history.Events.Select(e => e.Offset));
        Assert.True(history.Complete);
    }
}
