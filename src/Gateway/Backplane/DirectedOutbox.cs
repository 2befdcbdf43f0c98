using System.Buffers.Binary;

namespace Gateway.Backplane;

/// <summary>
/// Requests and replies on their way to other nodes' channels. Messages for one node that arrive before the
/// outbox is next flushed (one flush is scheduled on the thread pool when the first arrives) leave together in one
/// publish (up to <see cref="MaxBatchBytes"/>): one Redis command, and one delivery to wake the node, for all of them.
/// Nothing waits for a batch to fill, and no flush waits for the previous publish to complete, so publishes stay
/// pipelined; flushes start their publishes one after another, so messages leave in the order they were queued.
/// A node that does not read batches (an earlier version) gets each message in a publish of its own.
/// </summary>
/// <param name="publish">Publishes bytes to a node's channel; the task gives the number of receivers.</param>
/// <param name="takesBatches">Whether a node reads batches.</param>
/// <param name="schedule">Runs a flush later; the thread pool unless a test gives its own.</param>
internal sealed class DirectedOutbox(Func<string, byte[], Task<long>> publish, Func<string, bool> takesBatches, Action<Action>? schedule = null)
{
    /// <summary>The first byte of a batch: no single message starts with it (operations are 1–17).</summary>
    public const byte BatchMarker = 0xBA;

    /// <summary>The largest batch: messages past it go in the next publish.</summary>
    public const int MaxBatchBytes = 1024 * 1024;

    // The holds taken on this thread (see HoldFlushes), and the outboxes whose flush they owe.
    [ThreadStatic]
    private static int t_holds;

    [ThreadStatic]
    private static List<DirectedOutbox>? t_owed;

    private readonly Lock _gate = new();
    private readonly Lock _flushing = new();
    private Dictionary<string, Pending>? _pending;

    // The thread that queued the first of the messages pending and holds their flush (see HoldFlushes); 0: none.
    private int _holder;

    /// <summary>
    /// Holds, until the returned value is disposed, the flush that a message queued on this thread would schedule on
    /// the thread pool; the flush then runs on this thread. A thread that reads several requests at once holds their
    /// answers this way: they leave together, in one write once all are carried out, and no thread-pool thread is
    /// woken for them. A message queued by another thread meanwhile (one holding its own flushes included) does not
    /// wait for the holder: it schedules the flush on the thread pool as if none were held, and that flush takes every
    /// message pending. Holds nest: the outermost one flushes. The holder must not wait for anything while it holds.
    /// </summary>
    public static HeldFlushes HoldFlushes()
    {
        t_holds++;
        return default;
    }

    /// <summary>Queues a message for <paramref name="nodeId"/>; the task gives the number of nodes that received its publish.</summary>
    public Task<long> Enqueue(string nodeId, byte[] message)
    {
        lock (_gate)
        {
            var first = _pending is null;
            _pending ??= new(StringComparer.Ordinal);
            if (!_pending.TryGetValue(nodeId, out var pending))
            {
                pending = new Pending();
                _pending[nodeId] = pending;
            }

            pending.Messages.Add(message);
            if (first && t_holds > 0)
            {
                _holder = Environment.CurrentManagedThreadId;
                (t_owed ??= []).Add(this);
            }
            else if (first || (_holder != 0 && _holder != Environment.CurrentManagedThreadId))
            {
                // A first message, or another thread's joining messages whose flush a holder holds: it does not wait
                // for the holder (whose own flush then finds nothing, or what came after).
                _holder = 0;
                if (schedule is null)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static outbox => outbox.Flush(), this, preferLocal: false);
                }
                else
                {
                    schedule(Flush);
                }
            }

            return pending.Received.Task;
        }
    }

    private static void ReleaseHold()
    {
        if (--t_holds > 0 || t_owed is not { Count: > 0 } owed)
        {
            return;
        }

        // Taken out first: a flush runs publishes, and what they resume inline may hold and queue on this thread again.
        t_owed = null;
        Exception? failed = null;
        foreach (var outbox in owed)
        {
            try
            {
                outbox.Flush();
            }
#pragma warning disable CA1031 // Every outbox owed is flushed, whatever one of them threw; the first exception goes on.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failed ??= ex;
            }
        }

        owed.Clear();
        t_owed ??= owed;
        if (failed is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed);
        }
    }

    private void Flush()
    {
        // Held until this flush's publishes have started (not completed): a later flush, which can only have taken
        // later messages, starts its publishes after these, so Redis gets every node's messages in queue order.
        lock (_flushing)
        {
            Dictionary<string, Pending>? batch;
            lock (_gate)
            {
                batch = _pending;
                _pending = null;
                _holder = 0;
            }

            // Nothing pending: a scheduled flush took what a held one owed (or the other way round).
            if (batch is null)
            {
                return;
            }

            foreach (var (nodeId, pending) in batch)
            {
                _ = PublishAsync(nodeId, pending, takesBatches(nodeId) ? MaxBatchBytes : 0);
            }
        }
    }

    private async Task PublishAsync(string nodeId, Pending pending, int maxBatchBytes)
    {
        try
        {
            // Everything up to the first await runs in the flush, in order: each publish is started here.
            var messages = pending.Messages;
            Task<long>? only = null;
            List<Task<long>>? several = null;
            for (var from = 0; from < messages.Count;)
            {
                var to = from + 1;
                var size = messages[from].Length;
                while (to < messages.Count && size + messages[to].Length + (4 * (to - from + 1)) + 1 <= maxBatchBytes)
                {
                    size += messages[to].Length;
                    to++;
                }

                var sent = publish(nodeId, to - from == 1 ? messages[from] : Join(messages, from, to - from));
                if (only is null)
                {
                    only = sent;
                }
                else
                {
                    (several ??= [only]).Add(sent);
                }

                from = to;
            }

            pending.Received.TrySetResult(several is null ? await only! : (await Task.WhenAll(several)).Min());
        }
        // This runs in a thread-pool flush: an exception that escaped would end the process. The callers waiting on the
        // batch get whatever the publish threw instead (a disconnected Redis throws before the publish starts).
#pragma warning disable CA1031 // Catch-all at a thread-pool boundary; the exception goes to every waiting caller.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            pending.Received.TrySetException(ex);
        }
    }

    /// <summary>A batch: the marker, then each message after its length (32-bit little-endian).</summary>
    public static byte[] Join(List<byte[]> messages) => Join(messages, 0, messages?.Count ?? 0);

    private static byte[] Join(List<byte[]> messages, int from, int count)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var size = 1;
        for (var i = from; i < from + count; i++)
        {
            size += 4 + messages[i].Length;
        }

        var bytes = new byte[size];
        bytes[0] = BatchMarker;
        var at = 1;
        for (var i = from; i < from + count; i++)
        {
            var message = messages[i];
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), message.Length);
            message.CopyTo(bytes, at + 4);
            at += 4 + message.Length;
        }

        return bytes;
    }

    /// <summary>The messages of a batch, or the one message that is not a batch; stops at the first malformed length.</summary>
    public static IEnumerable<ArraySegment<byte>> Split(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0 || bytes[0] != BatchMarker)
        {
            yield return bytes;
            yield break;
        }

        var at = 1;
        while (bytes.Length - at >= 4)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
            if (length < 0 || length > bytes.Length - at - 4)
            {
                yield break;
            }

            yield return new ArraySegment<byte>(bytes, at + 4, length);
            at += 4 + length;
        }
    }

    /// <summary>A hold on this thread's flushes (<see cref="HoldFlushes"/>): disposing it releases the hold, and the outermost release flushes what is owed.</summary>
    public readonly struct HeldFlushes : IDisposable
    {
        /// <inheritdoc />
        public void Dispose() => ReleaseHold();
    }

    private sealed class Pending
    {
        public List<byte[]> Messages { get; } = new(2);

        // Completed inline, on the publish's completion: a request waiting on it checks the count and goes back to waiting
        // for its answer (unless the answer came first); a reply's sender only notes a failure.
        public TaskCompletionSource<long> Received { get; } = new();
    }
}
