using System.Collections.Concurrent;
using Gateway.Backplane;

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
            _ => true,
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
        var outbox = new DirectedOutbox((_, _) => Task.FromException<long>(new TimeoutException("redis")), _ => true, flushes.Enqueue);
        var one = outbox.Enqueue("a", [1]);
        var two = outbox.Enqueue("a", [2]);
        flushes.Dequeue()();
        await Assert.ThrowsAsync<TimeoutException>(() => one);
        await Assert.ThrowsAsync<TimeoutException>(() => two);

        // A publish that throws before it starts fails its messages the same way.
        var throwing = new DirectedOutbox((_, _) => throw new InvalidOperationException("not connected"), _ => true, flushes.Enqueue);
        var three = throwing.Enqueue("a", [1]);
        flushes.Dequeue()();
        await Assert.ThrowsAsync<InvalidOperationException>(() => three);
    }

    [Fact]
    public async Task A_node_that_does_not_read_batches_gets_one_message_per_publish_and_a_batch_stops_at_its_size()
    {
        var published = new ConcurrentQueue<(string Node, byte[] Bytes)>();
        var flushes = new Queue<Action>();
        var outbox = new DirectedOutbox(
            (node, bytes) =>
            {
                published.Enqueue((node, bytes));
                return Task.FromResult(1L);
            },
            node => node != "old",
            flushes.Enqueue);
        var toOld = Enumerable.Range(0, 3).Select(i => outbox.Enqueue("old", [(byte)i])).ToList();
        var big = new byte[(DirectedOutbox.MaxBatchBytes / 2) - 100];
        var toNew = Enumerable.Range(0, 3).Select(_ => outbox.Enqueue("new", big)).ToList();
        flushes.Dequeue()();
        await Task.WhenAll(toOld.Concat(toNew));

        Assert.Equal([[0], [1], [2]], published.Where(p => p.Node == "old").Select(p => p.Bytes));

        // Two halves fit in one batch, the third starts the next publish.
        var toNewPublishes = published.Where(p => p.Node == "new").Select(p => p.Bytes).ToList();
        Assert.Equal(2, toNewPublishes.Count);
        Assert.Equal(2, DirectedOutbox.Split(toNewPublishes[0]).Count());
        Assert.Same(big, toNewPublishes[1]);
        Assert.True(toNewPublishes[0].Length <= DirectedOutbox.MaxBatchBytes);
    }

    [Fact]
    public async Task Messages_reach_the_publisher_in_the_order_they_were_queued_across_flushes()
    {
        // The real thread pool: flushes overlap, and a large message makes one flush slow to start its publish.
        const int Count = 50_000;
        var seen = new ConcurrentQueue<int>();
        var outbox = new DirectedOutbox(
            (_, bytes) =>
            {
                foreach (var one in DirectedOutbox.Split(bytes))
                {
                    seen.Enqueue(BitConverter.ToInt32(one.AsSpan(0, 4)));
                }

                return Task.FromResult(1L);
            },
            _ => true);
        var sent = new List<Task<long>>(Count);
        for (var i = 0; i < Count; i++)
        {
            var message = new byte[i % 1000 == 0 ? 64 * 1024 : 8];
            BitConverter.TryWriteBytes(message, i);
            sent.Add(outbox.Enqueue("a", message));
        }

        await Task.WhenAll(sent).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, Count), seen);
    }

    [Fact]
    public async Task Messages_queued_under_a_hold_leave_together_from_its_thread_when_it_ends()
    {
        var published = new ConcurrentQueue<(string Node, byte[] Bytes, int Thread)>();
        var flushes = new Queue<Action>();
        var outbox = new DirectedOutbox(
            (node, bytes) =>
            {
                published.Enqueue((node, bytes, Environment.CurrentManagedThreadId));
                return Task.FromResult(1L);
            },
            _ => true,
            flushes.Enqueue);

        Task<long>[] answers;
        using (DirectedOutbox.HoldFlushes())
        {
            answers = [outbox.Enqueue("a", [1]), outbox.Enqueue("a", [2])];
            Assert.Empty(flushes);
            Assert.Empty(published);
        }

        // Nothing was scheduled: the flush ran here, when the hold ended, with both in one publish.
        Assert.Empty(flushes);
        var (node, bytes, thread) = Assert.Single(published);
        Assert.Equal("a", node);
        Assert.Equal(Environment.CurrentManagedThreadId, thread);
        Assert.Equal([[1], [2]], DirectedOutbox.Split(bytes).Select(s => s.ToArray()));
        Assert.All(await Task.WhenAll(answers), r => Assert.Equal(1, r));
        published.Clear();

        // Another thread's message does not wait for the holder: it schedules the flush on the thread pool, as if
        // none were held, and the first of the two flushes to run takes every message; the other finds nothing.
        Task<long> fromElsewhere;
        using (DirectedOutbox.HoldFlushes())
        {
            answers = [outbox.Enqueue("a", [1])];
            Task<long>? other = null;
            var elsewhere = new Thread(() => other = outbox.Enqueue("a", [2]));
            elsewhere.Start();
            elsewhere.Join();
            fromElsewhere = other!;
            Assert.Single(flushes);
            answers = [.. answers, outbox.Enqueue("a", [3])];
            Assert.Single(flushes);
            flushes.Dequeue()();
            (_, bytes, thread) = Assert.Single(published);
            Assert.Equal([[1], [2], [3]], DirectedOutbox.Split(bytes).Select(s => s.ToArray()));
        }

        Assert.Single(published);
        Assert.Empty(flushes);
        Assert.All(await Task.WhenAll([.. answers, fromElsewhere]), r => Assert.Equal(1, r));
        published.Clear();

        // A hold in which nothing was queued flushes nothing; after it, a message schedules its flush as before.
        using (DirectedOutbox.HoldFlushes())
        {
        }

        Assert.Empty(published);
        var later = outbox.Enqueue("a", [4]);
        Assert.Single(flushes);
        flushes.Dequeue()();
        Assert.Equal(1, await later);
        Assert.Single(published);
    }

    [Fact]
    public void Holds_nest_the_outermost_flushes_every_outbox_owed_and_a_failure_inside_still_flushes()
    {
        var published = new ConcurrentQueue<string>();
        var flushes = new Queue<Action>();
        DirectedOutbox Outbox(string name) => new(
            (node, _) =>
            {
                published.Enqueue(name + ":" + node);
                return Task.FromResult(1L);
            },
            _ => true,
            flushes.Enqueue);
        var requests = Outbox("requests");
        var answers = Outbox("answers");

        using (DirectedOutbox.HoldFlushes())
        {
            answers.Enqueue("a", [1]);
            using (DirectedOutbox.HoldFlushes())
            {
                requests.Enqueue("b", [2]);
                answers.Enqueue("a", [3]);
            }

            // The inner hold's end flushes nothing: the outer one still holds.
            Assert.Empty(published);
        }

        Assert.Equal(["answers:a", "requests:b"], published);
        Assert.Empty(flushes);

        // A delivery that throws inside a hold: what it queued still leaves when the hold is disposed.
        void Failing()
        {
            using (DirectedOutbox.HoldFlushes())
            {
                answers.Enqueue("a", [5]);
                throw new InvalidOperationException("a delivery failed");
            }
        }

        Assert.Throws<InvalidOperationException>(Failing);

        Assert.Equal(["answers:a", "requests:b", "answers:a"], published);
        Assert.Empty(flushes);

        // An outbox whose flush throws does not keep the others owed by the same hold from being flushed.
        var broken = new DirectedOutbox((_, _) => Task.FromResult(1L), _ => throw new InvalidOperationException("no record"), flushes.Enqueue);
        void Both()
        {
            using (DirectedOutbox.HoldFlushes())
            {
                broken.Enqueue("c", [6]);
                requests.Enqueue("b", [7]);
            }
        }

        Assert.Equal("no record", Assert.Throws<InvalidOperationException>(Both).Message);
        Assert.Equal(["answers:a", "requests:b", "answers:a", "requests:b"], published);

        // And the thread's holds start again from nothing.
        answers.Enqueue("a", [8]);
        Assert.Single(flushes);
    }
}
