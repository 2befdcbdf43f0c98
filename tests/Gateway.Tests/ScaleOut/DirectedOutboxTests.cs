using System.Collections.Concurrent;
using Gateway.Redis;

namespace Gateway.Tests.ScaleOut;

public class DirectedOutboxTests
{
    [Fact]
    public void A_batch_splits_into_its_messages_and_a_lone_message_is_itself()
    {
        List<byte[]> messages = [[1, 2, 3], [], [9], [.. Enumerable.Range(0, 300).Select(i => (byte)i)]];
        var batch = DirectedOutbox.Join(messages);
        Assert.Equal(DirectedOutbox.BatchMarker, batch[0]);
        Assert.Equal(messages, DirectedOutbox.Split(batch).Select(s => s.ToArray()));

        byte[] single = [5, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal([single], DirectedOutbox.Split(single).Select(s => s.ToArray()));

        // A length that runs past the end stops the reading; what came before it is kept.
        var cut = batch[..^10];
        Assert.Equal(messages.Take(3), DirectedOutbox.Split(cut).Select(s => s.ToArray()));
    }

    [Fact]
    public async Task Messages_that_meet_before_a_flush_leave_in_one_publish_per_node()
    {
        var published = new ConcurrentQueue<(string Node, byte[] Bytes)>();
        var flushes = new Queue<Action>();
        var outbox = new DirectedOutbox(
            (node, bytes) =>
            {
                published.Enqueue((node, bytes));
                return Task.FromResult(node == "gone" ? 0L : 1L);
            },
            flushes.Enqueue);
        var a = Enumerable.Range(0, 5).Select(i => outbox.Enqueue("a", [(byte)i])).ToList();
        var b = outbox.Enqueue("b", [42]);
        var gone = outbox.Enqueue("gone", [7]);

        // One flush was scheduled, by the first message; it takes everything queued since.
        Assert.Single(flushes);
        Assert.Empty(published);
        flushes.Dequeue()();

        Assert.All(await Task.WhenAll(a), r => Assert.Equal(1, r));
        Assert.Equal(1, await b);
        Assert.Equal(0, await gone);
        var byNode = published.ToDictionary(p => p.Node, p => p.Bytes);
        Assert.Equal(3, published.Count);
        Assert.Equal([[0], [1], [2], [3], [4]], DirectedOutbox.Split(byNode["a"]).Select(s => s.ToArray()));
        Assert.Equal([42], byNode["b"]);

        // The next message schedules the next flush.
        var later = outbox.Enqueue("a", [9]);
        Assert.Single(flushes);
        flushes.Dequeue()();
        Assert.Equal(1, await later);
        Assert.Equal(4, published.Count);
    }

    [Fact]
    public async Task A_failed_publish_fails_every_message_in_it()
    {
        var flushes = new Queue<Action>();
        var outbox = new DirectedOutbox((_, _) => Task.FromException<long>(new TimeoutException("redis")), flushes.Enqueue);
        var one = outbox.Enqueue("a", [1]);
        var two = outbox.Enqueue("a", [2]);
        flushes.Dequeue()();
        await Assert.ThrowsAsync<TimeoutException>(() => one);
        await Assert.ThrowsAsync<TimeoutException>(() => two);

        // A publish that throws before it starts fails its messages the same way.
        var throwing = new DirectedOutbox((_, _) => throw new InvalidOperationException("not connected"), flushes.Enqueue);
        var three = throwing.Enqueue("a", [1]);
        flushes.Dequeue()();
        await Assert.ThrowsAsync<InvalidOperationException>(() => three);
    }
}
