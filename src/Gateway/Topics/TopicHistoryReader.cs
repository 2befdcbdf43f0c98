using Gateway.Backplane;

namespace Gateway.Topics;

/// <summary>
/// Reads a topic's history as a recovering subscribe would: on a backplane that shares history, this node's copy is
/// loaded from the backplane first, so the epoch and offsets are every node's.
/// </summary>
public sealed class TopicHistoryReader(TopicHub hub, IBackplane backplane)
{
    /// <summary>
    /// Makes sure this node's copy of <paramref name="topic"/>'s shared history is loaded (nothing to do for a pattern,
    /// a topic without history, or a backplane that shares none). False when it cannot be read now.
    /// </summary>
    public ValueTask<bool> EnsureLoadedAsync(string topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return SharedHistoryReads.EnsureLoadedAsync(hub, backplane, topic, cancellationToken);
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
