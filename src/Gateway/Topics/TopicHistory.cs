namespace Gateway.Topics;

/// <summary>
/// The recent events of one topic, each with an increasing offset, within a count and an age. The epoch names this
/// history: offsets are only comparable within one epoch (a new history, for example after a restart, has another).
/// Offsets are consecutive (1, 2, 3 …) when this node or a backplane that counts per topic numbers them, and
/// increasing with gaps when one sequence numbers the events of many topics (a JetStream stream): only consecutive
/// offsets show, by a jump, that events were missed.
/// Publishes and recovering subscribes of the topic run under <see cref="Gate"/>, so each sees the other whole.
/// </summary>
internal sealed class TopicHistory(int size, long ttlTicks, string epoch, long createdTicks, bool consecutiveOffsets = true)
{
    private readonly LinkedList<(long Offset, long Ticks, byte[] Frame)> _events = new();

    // Every event of the epoch with an offset above this one, up to LastOffset, is kept; 0 while nothing was ever dropped.
    private long _floor;

    public Lock Gate { get; } = new();

    public string Epoch { get; } = epoch;

    /// <summary>True when the offsets go 1, 2, 3 …; false when they increase with gaps.</summary>
    public bool ConsecutiveOffsets { get; } = consecutiveOffsets;

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
    /// For a copy of a shared history: the mark (<see cref="TopicHistories.Mark"/>) from which it has kept every event
    /// the backplane delivered; <see cref="long.MaxValue"/> until it is set. Only a read of the shared history that began
    /// after this mark joins the copy without a hole.
    /// </summary>
    public long CollectingSince { get; set; } = long.MaxValue;

    /// <summary>True while no event of the epoch was dropped: every event since the epoch began is kept.</summary>
    public bool Complete => _floor == 0;

    /// <summary>
    /// Keeps an event; call under <see cref="Gate"/>. With consecutive offsets, an offset past the next one means events
    /// in between were missed: what came before is dropped, and false is returned. With gaps, a jump is the numbers
    /// other topics took, and the event is simply kept.
    /// </summary>
    public bool Append(long offset, long now, byte[] frame)
    {
        var joined = !ConsecutiveOffsets || offset == LastOffset + 1;
        if (!joined)
        {
            _events.Clear();
            _floor = offset - 1;
        }

        LastOffset = offset;
        LastTicks = Math.Max(LastTicks, now);
        _events.AddLast((offset, now, frame));
        Trim(now);
        return joined;
    }

    /// <summary>
    /// Adds the events read from the backplane (oldest first, up to <paramref name="lastOffset"/>; <paramref name="complete"/>
    /// when none of the epoch was dropped before them) to those kept; call under <see cref="Gate"/>. With consecutive
    /// offsets, older events are put in front as far as they join up. With gaps, the copy must have kept every event
    /// delivered since before the read began (<see cref="CollectingSince"/>): it then holds, after the read's events,
    /// every one past <paramref name="lastOffset"/>, and the two make one history without a hole.
    /// </summary>
    public void Backfill(IReadOnlyList<(long Offset, long Ticks, byte[] Frame)> older, long lastOffset, bool complete, long now)
    {
        if (ConsecutiveOffsets)
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

            _floor = (_events.First is { } head ? head.Value.Offset : LastOffset + 1) - 1;
        }
        else if (_floor <= lastOffset)
        {
            // Nothing past the read was dropped here: the read's events, then this copy's later ones. (When this copy
            // dropped an event past the read, what it keeps is newer than anything the read could add.)
            var newer = _events.Where(e => e.Offset > lastOffset).ToList();
            _events.Clear();
            foreach (var e in older)
            {
                _events.AddLast(e);
            }

            foreach (var e in newer)
            {
                _events.AddLast(e);
            }

            _floor = complete ? 0 : older.Count > 0 ? older[0].Offset - 1 : lastOffset;
            LastOffset = Math.Max(LastOffset, lastOffset);
        }

        Trim(now);
    }

    /// <summary>
    /// The backplane's events may have been missed (it reconnected): what is kept is dropped and the copy must be read
    /// again before a client recovers from it; from <paramref name="mark"/> on it keeps what arrives. Call under
    /// <see cref="Gate"/>, for a history with gaps (a consecutive one sees a miss by the next offset).
    /// </summary>
    public void Interrupt(long mark)
    {
        _events.Clear();
        _floor = LastOffset;
        Loaded = false;
        CollectingSince = mark;
    }

    /// <summary>
    /// The frames after <paramref name="since"/>, in order, when the history still holds every one of them; null when
    /// it may not (an event after it was dropped), or the position belongs to another epoch. Call under <see cref="Gate"/>.
    /// </summary>
    public List<byte[]>? After(RecoveryPosition since, long now, int maxCount, long maxBytes)
    {
        Trim(now);
        if (since.Epoch != Epoch || since.Offset > LastOffset || since.Offset < 0)
        {
            return null;
        }

        var oldest = _events.First is { } head ? head.Value.Offset : LastOffset + 1;
        if (ConsecutiveOffsets)
        {
            // The first event kept must be the one right after the client's (or the client must have seen them all).
            if (since.Offset + 1 < oldest)
            {
                return null;
            }
        }
        else if (!Loaded || !(Complete || since.Offset >= oldest || since.Offset == LastOffset))
        {
            // With gaps, the offset before the oldest kept is not known: the client must have seen one kept (or the
            // last), unless nothing was ever dropped. A copy not read since the backplane was interrupted knows neither.
            return null;
        }

        // They are queued at once: when they would not fit the connection's send queue, the client reloads instead.
        List<byte[]> missed = [.. _events.Where(e => e.Offset > since.Offset).Select(e => e.Frame)];
        return missed.Count <= maxCount && missed.Sum(f => (long)f.Length) <= maxBytes ? missed : null;
    }

    /// <summary>Every frame kept, oldest first; call under <see cref="Gate"/>.</summary>
    public List<byte[]> Kept(long now)
    {
        Trim(now);
        return [.. _events.Select(e => e.Frame)];
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
            _floor = Math.Max(_floor, _events.First!.Value.Offset);
            _events.RemoveFirst();
        }
    }
}
