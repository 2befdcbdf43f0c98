using System.Text;
using Gateway.Connections;

namespace Gateway.Tests.Connections;

public class SendQueueTests
{
    [Fact]
    public async Task Messages_come_out_in_order_through_every_shape_of_the_queue()
    {
        var queue = new SendQueue(200);
        var next = 0;
        var expected = 0;

        // One at a time (held inline), two at once (moved to a ring), a burst that grows the ring past 64 and drops it when drained.
        foreach (var burst in new[] { 1, 1, 2, 1, 3, 5, 150, 1, 2, 70, 1 })
        {
            for (var i = 0; i < burst; i++)
            {
                Assert.True(queue.TryWrite(Message(next++)));
            }

            Assert.Equal(burst, queue.Count);
            Assert.True(await queue.WaitToReadAsync());
            while (queue.TryRead(out var message))
            {
                Assert.Equal(expected++, Number(message));
            }

            Assert.Equal(0, queue.Count);
        }

        Assert.Equal(next, expected);
    }

    [Fact]
    public async Task A_full_queue_refuses_and_a_waiting_writer_gets_room_in_turn()
    {
        var queue = new SendQueue(3);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(queue.TryWrite(Message(i)));
        }

        Assert.False(queue.TryWrite(Message(99)));
        var waiting = queue.WriteAsync(Message(3), CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        Assert.True(queue.TryRead(out var first));
        Assert.Equal(0, Number(first));
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        var seen = new List<int>();
        while (queue.TryRead(out var message))
        {
            seen.Add(Number(message));
        }

        Assert.Equal([1, 2, 3], seen);

        // A cancelled wait for room gives up without writing.
        for (var i = 0; i < 3; i++)
        {
            Assert.True(queue.TryWrite(Message(10 + i)));
        }

        using var cancel = new CancellationTokenSource();
        var cancelled = queue.WriteAsync(Message(13), cancel.Token).AsTask();
        await cancel.CancelAsync();
        Assert.False(await cancelled.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, queue.Count);
    }

    [Fact]
    public async Task A_writer_that_gave_up_does_not_take_the_room_meant_for_one_still_waiting()
    {
        var queue = new SendQueue(1);
        Assert.True(queue.TryWrite(Message(0)));
        using var cancel = new CancellationTokenSource();
        var gaveUp = queue.WriteAsync(Message(1), cancel.Token).AsTask();
        var waiting = queue.WriteAsync(Message(2), CancellationToken.None).AsTask();
        await cancel.CancelAsync();
        Assert.False(await gaveUp.WaitAsync(TimeSpan.FromSeconds(10)));

        // One read makes room for one message: it goes to the writer still waiting.
        Assert.True(queue.TryRead(out var first));
        Assert.Equal(0, Number(first));
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(queue.TryRead(out var second));
        Assert.Equal(2, Number(second));
        Assert.False(queue.TryRead(out _));
    }

    [Fact]
    public async Task Completing_keeps_what_was_queued_and_wakes_the_reader_and_the_writers()
    {
        var queue = new SendQueue(1);
        var reader = queue.WaitToReadAsync().AsTask();
        Assert.False(reader.IsCompleted);
        Assert.True(queue.TryWrite(Message(1)));
        Assert.True(await reader.WaitAsync(TimeSpan.FromSeconds(10)));

        var writer = queue.WriteAsync(Message(2), CancellationToken.None).AsTask();
        queue.Complete();
        Assert.False(await writer.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(queue.TryWrite(Message(3)));

        // The queued message is still read; then the reader learns the end.
        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out var last));
        Assert.Equal(1, Number(last));
        Assert.False(await queue.WaitToReadAsync());

        var idle = new SendQueue(4);
        var parked = idle.WaitToReadAsync().AsTask();
        idle.Complete();
        Assert.False(await parked.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Many_producers_and_one_reader_lose_nothing()
    {
        const int Producers = 4;
        const int Each = 20_000;
        var queue = new SendQueue(64);
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < Each; i++)
            {
                Assert.True(await queue.WriteAsync(Message((p * Each) + i), CancellationToken.None));
            }
        })).ToArray();

        var last = Enumerable.Repeat(-1, Producers).ToArray();
        var read = 0;
        while (read < Producers * Each && await queue.WaitToReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)))
        {
            while (queue.TryRead(out var message))
            {
                var n = Number(message);
                var producer = n / Each;
                Assert.True(n > last[producer], "a producer's messages came out of order");
                last[producer] = n;
                read++;
            }
        }

        await Task.WhenAll(producers);
        Assert.Equal(Producers * Each, read);
    }

    private static OutboundMessage Message(int n) => OutboundMessage.Text(Encoding.ASCII.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static int Number(OutboundMessage message) => int.Parse(Encoding.ASCII.GetString(message.Payload.Span), System.Globalization.CultureInfo.InvariantCulture);
}
