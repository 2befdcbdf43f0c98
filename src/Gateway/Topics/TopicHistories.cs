using System.Collections.Concurrent;
using System.Security.Cryptography;
using Gateway.Configuration;

namespace Gateway.Topics;

/// <summary>
/// This node's histories, one per topic that keeps history: made on first use with a new epoch (or the backplane's),
/// filled from the backplane's copy by a read that began after the copy started keeping what the backplane delivers
/// (so that no event falls between the two), retired when the backplane replaces the epoch, and swept when they have
/// all expired.
/// Publishing and subscribing under a history's gate is <see cref="TopicHub"/>'s.
/// </summary>
internal sealed class TopicHistories(TopicsOptions options, TimeProvider time)
{
    private const int MaxHistoryTopicsBeforeSweep = 10_000;

    private readonly ConcurrentDictionary<string, TopicHistory> _histories = new(StringComparer.Ordinal);
    private int _sweepAt = MaxHistoryTopicsBeforeSweep;
    private int _sweeping;
    private long _marks;

    /// <summary>Topics keeping history on this node.</summary>
    public int Count => _histories.Count;

    /// <summary>The history rule of a concrete topic, or null when it keeps none.</summary>
    public TopicHistoryOptions? RuleOf(string topic)
    {
        foreach (var candidate in options.History)
        {
            if (TopicName.Matches(candidate.Pattern, topic))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The history this node keeps of <paramref name="topic"/>, or null when it keeps none (yet).</summary>
    public TopicHistory? Find(string topic) => _histories.TryGetValue(topic, out var existing) ? existing : null;

    /// <summary>The history of a topic with a history rule, made with a new epoch on first use; null for a topic without one.</summary>
    public TopicHistory? GetOrAdd(string topic)
    {
        if (_histories.TryGetValue(topic, out var existing))
        {
            return existing;
        }

        var rule = RuleOf(topic);
        if (rule is null)
        {
            return null;
        }

        if (_histories.Count >= Volatile.Read(ref _sweepAt) && Interlocked.Exchange(ref _sweeping, 1) == 0)
        {
            try
            {
                Sweep();
            }
            finally
            {
                Volatile.Write(ref _sweeping, 0);
            }
        }

        var created = time.GetUtcNow().UtcTicks;
        return _histories.GetOrAdd(topic, static (_, state) => new TopicHistory(state.Rule.Size, state.Rule.Ttl.Ticks, NewEpoch(), state.Created), (Rule: rule, Created: created));
    }

    /// <summary>This node's copy of a shared history, made with the backplane's <paramref name="epoch"/> on first use; null for a topic without a rule.</summary>
    private TopicHistory? GetOrAddShared(string topic, string epoch, bool consecutiveOffsets)
    {
        if (_histories.TryGetValue(topic, out var existing))
        {
            return existing;
        }

        var rule = RuleOf(topic);
        return rule is null
            ? null
            : _histories.GetOrAdd(topic, static (_, state) => new TopicHistory(state.Rule.Size, state.Rule.Ttl.Ticks, state.Epoch, state.Now, state.Consecutive), (Rule: rule, Epoch: epoch, Now: time.GetUtcNow().UtcTicks, Consecutive: consecutiveOffsets));
    }

    /// <summary>
    /// A mark in this node's order of events: take one before reading a shared history, so that
    /// <see cref="Load"/> can tell whether the copy was already keeping what the backplane delivered when the read began.
    /// </summary>
    public long Mark() => Interlocked.Increment(ref _marks);

    /// <summary>Retires a copy whose epoch the backplane replaced (call under its gate).</summary>
    public void Retire(string topic, TopicHistory history)
    {
        history.Retired = true;
        _histories.TryRemove(new KeyValuePair<string, TopicHistory>(topic, history));
    }

    /// <summary>
    /// Fills this node's copy of a shared history with what the backplane keeps, read after <paramref name="mark"/>;
    /// a copy of another epoch is replaced. True when the copy is loaded (or the topic keeps no history). False when the
    /// copy was made, or its events were interrupted, after the read began: events delivered in between could be in
    /// neither, so it keeps what arrives from now on and the history must be read again.
    /// </summary>
    public bool Load(string topic, Backplane.SharedTopicHistory shared, bool consecutiveOffsets, long mark)
    {
        while (true)
        {
            var history = GetOrAddShared(topic, shared.Epoch, consecutiveOffsets);
            if (history is null)
            {
                return true;
            }

            lock (history.Gate)
            {
                if (history.Retired)
                {
                    continue;
                }

                if (history.Epoch != shared.Epoch)
                {
                    Retire(topic, history);
                    continue;
                }

                if (history.Loaded)
                {
                    return true;
                }

                if (history.CollectingSince == long.MaxValue)
                {
                    // Made just now (by this load or another): it keeps what is delivered from here on.
                    history.CollectingSince = Mark();
                }

                if (history.CollectingSince > mark)
                {
                    return false;
                }

                history.Backfill([.. shared.Events.Select(e => (e.Offset, e.At.UtcTicks, e.Frame))], shared.LastOffset, shared.Complete, time.GetUtcNow().UtcTicks);
                history.Loaded = true;
                return true;
            }
        }
    }

    /// <summary>
    /// The backplane's events may have been missed (it reconnected): copies of shared histories with gaps in their
    /// offsets, which cannot see a miss, drop what they keep and are read again before a client recovers from them.
    /// </summary>
    public void Interrupt()
    {
        foreach (var (_, history) in _histories)
        {
            if (history.ConsecutiveOffsets)
            {
                continue;
            }

            lock (history.Gate)
            {
                if (!history.Retired)
                {
                    history.Interrupt(Mark());
                }
            }
        }
    }

    /// <summary>
    /// Forgets topics whose events have all expired and that saw nothing for a whole TTL (a client coming back to one is
    /// told recovered: false). Runs when the count passes a mark that then doubles, so its cost is spread thin.
    /// </summary>
    private void Sweep()
    {
        var now = time.GetUtcNow().UtcTicks;
        foreach (var (name, history) in _histories)
        {
            lock (history.Gate)
            {
                if (history.IsStale(now) && _histories.TryRemove(new KeyValuePair<string, TopicHistory>(name, history)))
                {
                    history.Retired = true;
                }
            }
        }

        Volatile.Write(ref _sweepAt, Math.Max(MaxHistoryTopicsBeforeSweep, _histories.Count * 2));
    }

    private static string NewEpoch() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}
