using System.Text;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Tests.Infrastructure;
using Gateway.Topics;

namespace Gateway.Tests.Topics;

/// <summary>
/// Recovery sends exactly the events after the client's offset while that offset is still kept, with consecutive
/// offsets and with offsets that increase with gaps (one sequence shared by many topics, as a JetStream stream's).
/// </summary>
public sealed class TopicHistoryOffsetTests
{
    private const string Epoch = "e1";
    private static readonly long Ttl = TimeSpan.FromMinutes(10).Ticks;

    private static byte[] Frame(long offset) => Encoding.UTF8.GetBytes($"{{\"offset\":{offset}}}");

    private static (long Offset, long Ticks, byte[] Frame) Event(long offset, long ticks = 0) => (offset, ticks, Frame(offset));

    /// <summary>A copy of a shared history whose offsets have gaps, read from the backplane (nothing kept yet).</summary>
    private static TopicHistory Gapped(int size = 10)
    {
        var history = new TopicHistory(size, Ttl, Epoch, 0, consecutiveOffsets: false) { Loaded = true };
        history.Backfill([], 0, complete: true, 0);
        return history;
    }

    // The offsets of the events recovered, "7,12"; null when not recovered.
    private static string? Recover(TopicHistory history, long offset, string epoch = Epoch, long now = 0) =>
        history.After(new RecoveryPosition(offset, epoch), now, 1000, long.MaxValue) is { } frames
            ? string.Join(',', frames.Select(f => JsonDocument.Parse(f).RootElement.GetProperty("offset").GetInt64()))
            : null;

    private static void Append(TopicHistory history, params long[] offsets)
    {
        foreach (var offset in offsets)
        {
            Assert.True(history.Append(offset, 0, Frame(offset)));
        }
    }

    [Fact]
    public void With_gaps_a_jump_is_not_a_miss_and_a_client_recovers_exactly_the_events_after_its_offset()
    {
        var history = Gapped();
        Append(history, 3, 7, 12);
        Assert.Equal("7,12", Recover(history, 3));
        Assert.Equal("12", Recover(history, 7));
        Assert.Equal("", Recover(history, 12));

        // Nothing was ever dropped: every event after an offset below the first kept is kept too.
        Assert.Equal("3,7,12", Recover(history, 0));
        Assert.Equal("3,7,12", Recover(history, 2));
        Assert.Equal("7,12", Recover(history, 5));

        // Ahead of the topic, or another epoch: not recovered.
        Assert.Null(Recover(history, 13));
        Assert.Null(Recover(history, 3, "e2"));
    }

    [Fact]
    public void With_gaps_a_client_whose_event_or_one_after_it_was_dropped_is_not_recovered()
    {
        var history = Gapped(size: 2);
        Append(history, 3, 7, 12);

        // 3 was dropped: the history cannot tell whether an event came between it and 7.
        Assert.Null(Recover(history, 3));
        Assert.Null(Recover(history, 0));
        Assert.Null(Recover(history, 5));
        Assert.Equal("12", Recover(history, 7));
        Assert.Equal("", Recover(history, 12));
    }

    [Fact]
    public void With_gaps_events_that_expired_leave_only_the_client_that_saw_the_last_one_recovered()
    {
        var history = Gapped();
        Append(history, 3, 7);
        var later = Ttl + 1;
        Assert.Null(Recover(history, 3, now: later));
        Assert.Equal("", Recover(history, 7, now: later));
    }

    [Fact]
    public void Consecutive_offsets_keep_their_rule_a_jump_is_a_miss_and_the_offset_before_the_first_kept_recovers()
    {
        var history = new TopicHistory(2, Ttl, Epoch, 0);
        Append(history, 1, 2, 3);
        Assert.Equal("2,3", Recover(history, 1)); // 1 was dropped, but 2 is the one after it
        Assert.Null(Recover(history, 0));

        Assert.False(history.Append(7, 0, Frame(7)));
        Assert.Null(Recover(history, 3));
        Assert.Equal("7", Recover(history, 6));
    }

    [Fact]
    public void With_gaps_a_read_joins_the_events_the_copy_kept_since_before_it_began()
    {
        // The copy kept 12 and 15 as they were delivered; the read, which began after, has 3, 7 and 12.
        var copy = new TopicHistory(10, Ttl, Epoch, 0, consecutiveOffsets: false);
        Append(copy, 12, 15);
        copy.Backfill([Event(3), Event(7), Event(12)], 12, complete: true, 0);
        copy.Loaded = true;
        Assert.Equal(15, copy.LastOffset);
        Assert.Equal("7,12,15", Recover(copy, 3));
        Assert.Equal("3,7,12,15", Recover(copy, 1));

        // A read whose own history dropped events before its first: only offsets from the first kept on recover.
        var partial = new TopicHistory(10, Ttl, Epoch, 0, consecutiveOffsets: false);
        Append(partial, 20);
        partial.Backfill([Event(7), Event(12)], 15, complete: false, 0);
        partial.Loaded = true;
        Assert.Null(Recover(partial, 3));
        Assert.Null(Recover(partial, 6));
        Assert.Equal("12,20", Recover(partial, 7));
        Assert.Equal("20", Recover(partial, 15));

        // Events the read has that were not delivered yet are kept from the read, and skipped when they come.
        var behind = new TopicHistory(10, Ttl, Epoch, 0, consecutiveOffsets: false);
        behind.Backfill([Event(3), Event(7), Event(12)], 12, complete: true, 0);
        behind.Loaded = true;
        Assert.Equal(12, behind.LastOffset);
        Assert.Equal("7,12", Recover(behind, 3));
    }

    [Fact]
    public void With_gaps_a_copy_that_dropped_events_past_the_read_keeps_its_own()
    {
        var copy = new TopicHistory(2, Ttl, Epoch, 0, consecutiveOffsets: false);
        Append(copy, 20, 25, 30); // 20 dropped
        copy.Backfill([Event(3), Event(7), Event(12)], 12, complete: true, 0);
        copy.Loaded = true;
        Assert.Equal("30", Recover(copy, 25));
        Assert.Null(Recover(copy, 12));
        Assert.Null(Recover(copy, 20));
    }

    [Fact]
    public void With_gaps_an_interrupted_copy_recovers_nobody_until_it_is_read_again()
    {
        var copy = Gapped();
        Append(copy, 3, 7);
        copy.Interrupt(mark: 5);
        Assert.False(copy.Loaded);
        Assert.Equal(5, copy.CollectingSince);
        Assert.Null(Recover(copy, 7));

        // 9 was missed while the backplane was away; 11 arrives after. The next read has both.
        Append(copy, 11);
        copy.Backfill([Event(3), Event(7), Event(9)], 9, complete: true, 0);
        copy.Loaded = true;
        Assert.Equal("9,11", Recover(copy, 7));
        Assert.Equal("7,9,11", Recover(copy, 3));
    }

    [Fact]
    public async Task A_copy_is_filled_by_a_read_that_began_after_it_kept_the_delivered_events_and_read_again_after_an_interruption()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Topics:History:0:Pattern"] = "events.>" });
        var hub = host.Services.GetRequiredService<TopicHub>();
        await using var client = await host.ConnectAsync();
        var connection = host.Connection(client.Id);
        const string Topic = "events.room";
        var at = DateTimeOffset.UtcNow;
        (long, DateTimeOffset, byte[]) Shared(long offset) => (offset, at, TopicFrames.Event(Topic, "tick", "0"u8, offset));
        TopicPosition? position = null;
        async Task<string> SubscribeAsync(long since)
        {
            Assert.True(hub.Subscribe(connection, Topic, new RecoveryPosition(since, Epoch), p =>
            {
                position = p;
                return """{"type":"subscribed"}"""u8.ToArray();
            }));
            Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
            var offsets = new List<long>();
            await client.SendTextAsync("""{"action":"ping"}""");
            for (var e = await TopicTests.NextJsonAsync(client); e.GetProperty("type").GetString() != "pong"; e = await TopicTests.NextJsonAsync(client))
            {
                offsets.Add(e.GetProperty("offset").GetInt64());
            }

            return string.Join(',', offsets);
        }

        // The first read makes the copy, which keeps what is delivered from then on: it is not loaded by that read, which
        // began before it (9 was delivered to nobody in between).
        var first = hub.SharedReadMark();
        Assert.False(hub.LoadShared(Topic, new SharedTopicHistory(Epoch, 7, [Shared(3), Shared(7)], Complete: true), consecutiveOffsets: false, first));
        Assert.False(hub.IsSharedHistoryLoaded(Topic));
        hub.ApplyShared(Topic, Epoch, 12, at, Shared(12).Item3);

        var second = hub.SharedReadMark();
        Assert.True(hub.LoadShared(Topic, new SharedTopicHistory(Epoch, 9, [Shared(3), Shared(7), Shared(9)], Complete: true), consecutiveOffsets: false, second));
        Assert.True(hub.IsSharedHistoryLoaded(Topic));
        Assert.Equal("7,9,12", await SubscribeAsync(3));
        Assert.True(position!.Recovered);
        Assert.Equal(12, position.Offset);

        // The backplane reconnected: 14 may have been missed. Nobody recovers until the history is read again.
        hub.InterruptShared();
        Assert.False(hub.IsSharedHistoryLoaded(Topic));
        Assert.Equal("", await SubscribeAsync(12));
        Assert.False(position!.Recovered);

        hub.ApplyShared(Topic, Epoch, 20, at, Shared(20).Item3);
        Assert.Equal(20, (await TopicTests.NextJsonAsync(client)).GetProperty("offset").GetInt64()); // live, to the subscriber
        var third = hub.SharedReadMark();
        Assert.True(hub.LoadShared(Topic, new SharedTopicHistory(Epoch, 14, [Shared(7), Shared(9), Shared(12), Shared(14)], Complete: false), consecutiveOffsets: false, third));
        Assert.Equal("14,20", await SubscribeAsync(12));
        Assert.True(position!.Recovered);
        Assert.Equal("", await SubscribeAsync(3)); // 3 was dropped from the shared history
        Assert.False(position!.Recovered);
    }
}
