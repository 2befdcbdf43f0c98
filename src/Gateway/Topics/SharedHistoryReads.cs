using Gateway.Backplane;

namespace Gateway.Topics;

/// <summary>Reads a topic's shared history into this node's copy before a subscribe, when the backplane keeps it.</summary>
internal static class SharedHistoryReads
{
    // Reads of a topic's shared history before a subscribe gives up: two, unless the backplane reconnected or the
    // history's epoch changed meanwhile.
    private const int MaxHistoryReads = 4;

    /// <summary>
    /// True when <paramref name="channel"/> can be subscribed to now: it keeps no shared history, or this node's copy of
    /// it is read; false when the history cannot be read right now.
    /// </summary>
    public static async ValueTask<bool> EnsureLoadedAsync(TopicHub hub, IBackplane backplane, string channel, CancellationToken cancellationToken)
    {
        if (!backplane.SharesHistory || TopicName.HasWildcard(channel) || hub.HistoryRule(channel) is not { } rule || hub.IsSharedHistoryLoaded(channel))
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
                if (await backplane.ReadHistoryAsync(channel, rule.Ttl, cancellationToken) is not { } shared
                    || hub.LoadShared(channel, shared, backplane.ConsecutiveOffsets, mark))
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
}
