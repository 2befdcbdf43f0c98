namespace Gateway.Topics;

/// <summary>
/// The recent events of one topic, each with an increasing offset, within a count and an age. The epoch names this
/// history: offsets are only comparable within one epoch (a new history, for example after a restart, has another).
/// Publishes and recovering subscribes of the topic run under <see cref="Gate"/>, so each sees the other whole.
/// </summary>
internal sealed class TopicHistory(int size, long ttlTicks, string epoch, long createdTicks)
{
    private readonly LinkedList<(long Offset, long Ticks, byte[] Frame)> _events = new();

    public Lock Gate { get; } = new();

    public string Epoch { get; } = epoch;

    /// <summary>The offset of the last event published, 0 before the first.</summary>
    public long LastOffset { get; private set; }

    /// <summary>When the last event was published (or the history made).</summary>
    public long LastTicks { get; private set; } = createdTicks;

    /// <summary>Set, under <see cref="Gate"/>, when the history is forgotten; whoever holds it must look the topic up again.</summary>
    public bool Retired { get; set; }

    /// <summary>Takes the next offset; call under <see cref="Gate"/>, then <see cref="Append"/> the event's frame.</summary>
    public long NextOffset() => LastOffset + 1;

    /// <summary>
    /// True once the history is known to match the shared one (its epoch and earlier events were read from the
    /// backplane, or it is this node's own); a replicated history starts unknown.
    /// </summary>
    public bool Loaded { get; set; }

    /// <summary>
    /// Keeps an event; call under <see cref="Gate"/>. An offset past the next one means events in between were missed:
    /// what came before is dropped, and false is returned.
    /// </summary>
    public bool Append(long offset, long now, byte[] frame)
    {
        var joined = offset == LastOffset + 1;
        if (!joined)
        {
            _events.Clear();
        }

        LastOffset = offset;
        LastTicks = Math.Max(LastTicks, now);
        _events.AddLast((offset, now, frame));
        Trim(now);
        return joined;
    }

    /// <summary>Adds older events (read from the backplane) in front of those kept, as far as they join up; call under <see cref="Gate"/>.</summary>
    public void Backfill(IReadOnlyList<(long Offset, long Ticks, byte[] Frame)> older, long lastOffset, long now)
    {
        if (_events.Count == 0 && LastOffset < lastOffset)
        {
            LastOffset = lastOffset;
        }

        for (var i = older.Count - 1; i >= 0; i--)
        {
            var first = _events.First is { } node ? node.Value.Offset : LastOffset + 1;
            if (older[i].Offset == first - 1)
            {
                _events.AddFirst(older[i]);
            }
        }

        Trim(now);
    }

    /// <summary>
    /// The frames after <paramref name="since"/>, in order, when the history still holds every one of them; null when
    /// it does not reach back that far, or the position belongs to another epoch. Call under <see cref="Gate"/>.
    /// </summary>
    public List<byte[]>? After(RecoveryPosition since, long now, int maxCount, long maxBytes)
    {
        Trim(now);
        if (since.Epoch != Epoch || since.Offset > LastOffset || since.Offset < 0)
        {
            return null;
        }

        // The first event kept must be the one right after the client's (or the client must have seen them all).
        var first = _events.First is { } head ? head.Value.Offset : LastOffset + 1;
        if (since.Offset + 1 < first)
        {
            return null;
        }

        // They are queued at once: when they would not fit the connection's send queue, the client reloads instead.
        List<byte[]> missed = [.. _events.Where(e => e.Offset > since.Offset).Select(e => e.Frame)];
        return missed.Count <= maxCount && missed.Sum(f => (long)f.Length) <= maxBytes ? missed : null;
    }

    /// <summary>True when nothing is kept any more and nothing was published for a whole TTL.</summary>
    public bool IsStale(long now)
    {
        Trim(now);
        return _events.Count == 0 && now - LastTicks >= ttlTicks;
    }

    private void Trim(long now)
    {
        while (_events.Count > size || (_events.First is { } head && now - head.Value.Ticks >= ttlTicks))
        {
            _events.RemoveFirst();
        }
    }
}
