namespace Gateway.Connections;

/// <summary>
/// What a resumable connection keeps so that its client can come back after the network dropped: the frames it wrote,
/// numbered, that the client may not have received (a dropped socket loses what was still in flight). The client says
/// how many it received; the ones after that are written again. At most <c>ResumeBufferMessages</c> and
/// <c>ResumeBufferBytes</c> are kept, the oldest dropped first. The frames are the queue's own buffers (never changed
/// once queued, and shared between the subscribers of a publish), so keeping them costs a reference each.
/// </summary>
internal sealed class SessionReplay
{
    private readonly Queue<OutboundMessage> _written = new();
    private long _writtenBytes;

    /// <summary>Data frames written on this session, across its sockets.</summary>
    public long Written { get; private set; }

    /// <summary>The number of the resume token that is valid now; each resume makes the next one.</summary>
    public uint Generation { get; set; }

    /// <summary>Counts a data frame about to be written and keeps it, within the limits.</summary>
    public void Record(in OutboundMessage message, int maxMessages, long maxBytes)
    {
        lock (_written)
        {
            Written++;
            _written.Enqueue(message);
            _writtenBytes += message.Payload.Length;
            while (_written.Count > maxMessages || (_writtenBytes > maxBytes && _written.Count > 1))
            {
                _writtenBytes -= _written.Dequeue().Payload.Length;
            }
        }
    }

    /// <summary>
    /// The frames written after the first <paramref name="received"/>, which are forgotten (and uncounted) so that they
    /// are counted again when written again; null when one of them is no longer kept, or the client claims more than
    /// was written.
    /// </summary>
    public List<OutboundMessage>? TakeAfter(long received)
    {
        lock (_written)
        {
            if (!Keeps(received))
            {
                return null;
            }

            var keep = _written.Count - (int)(Written - received);
            var all = _written.ToArray();
            _written.Clear();
            _writtenBytes = 0;
            for (var i = 0; i < keep; i++)
            {
                _written.Enqueue(all[i]);
                _writtenBytes += all[i].Payload.Length;
            }

            Written = received;
            return [.. all.AsSpan(keep)];
        }
    }

    /// <summary>Starts counting at <paramref name="written"/>: a session that resumed here from another node, which counted those.</summary>
    public void Restart(long written)
    {
        lock (_written)
        {
            _written.Clear();
            _writtenBytes = 0;
            Written = written;
        }
    }

    /// <summary>True when every frame written after the first <paramref name="received"/> is kept.</summary>
    public bool Keeps(long received)
    {
        lock (_written)
        {
            var missing = Written - received;
            return received >= 0 && missing >= 0 && missing <= _written.Count;
        }
    }

    /// <summary>Bytes of the written frames kept.</summary>
    public long WrittenBytes
    {
        get
        {
            lock (_written)
            {
                return _writtenBytes;
            }
        }
    }
}
