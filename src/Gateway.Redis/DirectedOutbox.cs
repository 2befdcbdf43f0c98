using System.Buffers.Binary;

namespace Gateway.Redis;

/// <summary>
/// Requests and replies on their way to other nodes' channels. Messages for one node that arrive before the
/// outbox is next flushed (one flush is scheduled on the thread pool when the first arrives) leave together in one
/// publish: one Redis command, and one delivery to wake the node, for all of them. Nothing waits for a batch to
/// fill, and a flush never waits for the previous one, so concurrent publishes stay pipelined.
/// </summary>
/// <param name="publish">Publishes bytes to a node's channel; the task gives the number of receivers.</param>
/// <param name="schedule">Runs a flush later; the thread pool unless a test gives its own.</param>
internal sealed class DirectedOutbox(Func<string, byte[], Task<long>> publish, Action<Action>? schedule = null)
{
    /// <summary>The first byte of a batch: no single message starts with it (operations are 1–9).</summary>
    public const byte BatchMarker = 0xBA;

    private readonly Lock _gate = new();
    private Dictionary<string, Pending>? _pending;

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
            if (first)
            {
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

    private void Flush()
    {
        Dictionary<string, Pending> batch;
        lock (_gate)
        {
            batch = _pending!;
            _pending = null;
        }

        foreach (var (nodeId, pending) in batch)
        {
            _ = PublishAsync(nodeId, pending);
        }
    }

    private async Task PublishAsync(string nodeId, Pending pending)
    {
        try
        {
            pending.Received.TrySetResult(await publish(nodeId, pending.Messages.Count == 1 ? pending.Messages[0] : Join(pending.Messages)));
        }
#pragma warning disable CA1031 // Every waiting caller gets the publish's failure, whatever it is.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            pending.Received.TrySetException(ex);
        }
    }

    /// <summary>A batch: the marker, then each message after its length (32-bit little-endian).</summary>
    public static byte[] Join(List<byte[]> messages)
    {
        var size = 1;
        foreach (var message in messages)
        {
            size += 4 + message.Length;
        }

        var bytes = new byte[size];
        bytes[0] = BatchMarker;
        var at = 1;
        foreach (var message in messages)
        {
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

    private sealed class Pending
    {
        public List<byte[]> Messages { get; } = new(2);

        // Completed inline: what waits on it only checks the count and goes back to waiting for its answer.
        public TaskCompletionSource<long> Received { get; } = new();
    }
}
