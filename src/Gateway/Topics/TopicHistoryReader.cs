using Gateway.Backplane;

namespace Gateway.Topics;

/// <summary>
/// Reads a topic's history as a recovering subscribe would: on a backplane that shares history, this node's copy is
/// loaded from the backplane first, so the epoch and offsets are every node's.
/// </summary>
public sealed class TopicHistoryReader(TopicHub hub, IBackplane backplane)
{
    // Reads of a topic's shared history before giving up: two, unless the backplane reconnected or the history's epoch
    // changed meanwhile.
    private const int MaxHistoryReads = 4;

    /// <summary>
    /// Makes sure this node's copy of <paramref name="topic"/>'s shared history is loaded (nothing to do for a pattern,
    /// a topic without history, or a backplane that shares none). False when it cannot be read now.
    /// </summary>
    public async ValueTask<bool> EnsureLoadedAsync(string topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!backplane.SharesHistory || TopicName.HasWildcard(topic) || hub.HistoryRule(topic) is not { } rule || hub.IsSharedHistoryLoaded(topic))
        {
            return true;
        }

        // This node's copy of a shared history is read from the backplane, so that the epoch and offsets are
        // everyone's and a client can recover here what it missed on another node. The read must begin after the
        // copy started keeping what the backplane delivers, or an event delivered in between would be in neither:
        // the first subscribe of a topic on this node makes the copy with one read and fills it with a second.
        for (var attempt = 0; attempt < MaxHistoryReads; attempt++)
        {
            var mark = hub.SharedReadMark();
            try
            {
                if (await backplane.ReadHistoryAsync(topic, rule.Ttl, cancellationToken) is not { } shared
                    || hub.LoadShared(topic, shared, backplane.ConsecutiveOffsets, mark))
                {
                    return true;
                }
            }
            catch (BackplaneUnavailableException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// <paramref name="topic"/>'s history after <paramref name="since"/> (or all it keeps), at most
    /// <paramref name="limit"/> events; null when the topic keeps none. Throws <see cref="BackplaneUnavailableException"/>
    /// when a shared history cannot be read now.
    /// </summary>
    public async ValueTask<TopicHistoryPage?> ReadAsync(string topic, RecoveryPosition? since, int limit, CancellationToken cancellationToken)
    {
        if (!await EnsureLoadedAsync(topic, cancellationToken))
        {
            throw new BackplaneUnavailableException($"The history of '{topic}' cannot be read right now.");
        }

        return hub.ReadHistory(topic, since, limit);
    }
}
