using System.Collections.Concurrent;
using System.Security.Cryptography;
using Gateway.Configuration;

namespace Gateway.Topics;

/// <summary>
/// This node's histories, one per topic that keeps history: made on first use with a new epoch (or the backplane's),
/// filled from the backplane's copy, retired when the backplane replaces the epoch, and swept when they have all expired.
/// Publishing and subscribing under a history's gate is <see cref="TopicHub"/>'s.
/// </summary>
internal sealed class TopicHistories(TopicsOptions options, TimeProvider time)
{
    private const int MaxHistoryTopicsBeforeSweep = 10_000;

    private readonly ConcurrentDictionary<string, TopicHistory> _histories = new(StringComparer.Ordinal);
    private int _sweepAt = MaxHistoryTopicsBeforeSweep;
    private int _sweeping;

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
    private TopicHistory? GetOrAddShared(string topic, string epoch)
    {
        if (_histories.TryGetValue(topic, out var existing))
        {
            return existing;
        }

        var rule = RuleOf(topic);
        return rule is null
            ? null
            : _histories.GetOrAdd(topic, static (_, state) => new TopicHistory(state.Rule.Size, state.Rule.Ttl.Ticks, state.Epoch, state.Now), (Rule: rule, Epoch: epoch, Now: time.GetUtcNow().UtcTicks));
    }

    /// <summary>Retires a copy whose epoch the backplane replaced (call under its gate).</summary>
    public void Retire(string topic, TopicHistory history)
    {
        history.Retired = true;
        _histories.TryRemove(new KeyValuePair<string, TopicHistory>(topic, history));
    }

    /// <summary>Fills this node's copy of a shared history with what the backplane keeps; a copy of another epoch is replaced.</summary>
    public void Load(string topic, Backplane.SharedTopicHistory shared)
    {
        while (true)
        {
            var history = GetOrAddShared(topic, shared.Epoch);
            if (history is null)
            {
                return;
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

                history.Backfill([.. shared.Events.Select(e => (e.Offset, e.At.UtcTicks, e.Frame))], shared.LastOffset, time.GetUtcNow().UtcTicks);
                history.Loaded = true;
                return;
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
