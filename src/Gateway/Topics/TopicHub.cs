using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Topics;

/// <summary>
/// This node's topic subscriptions and histories. A publish serializes its event once, finds the subscribers in the
/// index (each once, whatever number of its patterns match), and queues the frame to each without waiting on any
/// socket. Topics with history number their events; publishes of such a topic, and subscribes that recover from it, run
/// one at a time per topic, so a recovering client gets exactly the events it missed, then live ones, in order.
/// </summary>
public sealed partial class TopicHub : IDisposable
{
    [ThreadStatic]
    private static HashSet<GatewayConnection>? t_matched;

    private readonly TopicsOptions _options;
    private readonly ConnectionsOptions _connections;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SubscriptionIndex<GatewayConnection> _index = new();
    private readonly TopicHistories _histories;

    /// <summary>Creates the hub.</summary>
    public TopicHub(IOptions<GatewayOptions> options, TimeProvider time, ILogger<TopicHub> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value.Topics;
        _connections = options.Value.Connections;
        _time = time;
        _logger = logger;
        _histories = new TopicHistories(_options, time);
    }

    /// <summary>What is told of every subscription gained or lost (presence), or null.</summary>
    public ISubscriptionObserver? Observer { get; set; }

    /// <summary>Subscriptions held on this node.</summary>
    public int SubscriptionCount => _index.Count;

    /// <summary>Topics keeping history on this node.</summary>
    public int HistoryTopicCount => _histories.Count;

    /// <summary>The most subscribed patterns on this node with their subscriber counts, and how many patterns there are.</summary>
    public (List<KeyValuePair<string, int>> Top, int Patterns) TopPatterns(int max) => _index.Patterns(max);

    /// <summary>
    /// Subscribes <paramref name="connection"/> to <paramref name="pattern"/> (valid and authorized by then). Sends the
    /// answer made by <paramref name="answer"/> (given, for a topic with history, its epoch and last offset and whether
    /// <paramref name="since"/> could be recovered), then the missed events; false when the connection is at its limit.
    /// The answer is queued before the connection can receive any event of the topic.
    /// </summary>
    public bool Subscribe(GatewayConnection connection, string pattern, RecoveryPosition? since, Func<TopicPosition?, byte[]> answer)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(answer);
        if (TopicName.HasWildcard(pattern) || _histories.GetOrAdd(pattern) is null)
        {
            if (!Subscriptions(connection).TryAdd(pattern, _options.MaxSubscriptionsPerConnection, out var added))
            {
                return false;
            }

            // The observer first: by the time the client reads its answer, the others were told it joined.
            if (added)
            {
                Observer?.Subscribed(connection, pattern);
            }

            // An empty answer is none (a session resumed from another node resubscribes without telling its client).
            if (answer(null) is { Length: > 0 } first)
            {
                connection.TrySendText(first);
            }
            if (added)
            {
                _index.Add(pattern, connection);
            }

            return true;
        }

        while (true)
        {
            var history = _histories.GetOrAdd(pattern)!;
            lock (history.Gate)
            {
                if (history.Retired)
                {
                    continue;
                }

                if (!Subscriptions(connection).TryAdd(pattern, _options.MaxSubscriptionsPerConnection, out var added))
                {
                    return false;
                }

                // The observer first, as above; what it does (announcing a member) never waits or takes this gate.
                if (added)
                {
                    Observer?.Subscribed(connection, pattern);
                }

                var now = _time.GetUtcNow().UtcTicks;
                var room = _connections;
                var missed = since is null ? null : history.After(since, now, room.SendQueueLimit - connection.QueuedMessages - 1, room.SendQueueByteLimit - connection.QueuedBytes);
                if (answer(new TopicPosition(history.Epoch, history.LastOffset, since is null ? null : missed is not null)) is { Length: > 0 } said)
                {
                    connection.TrySendText(said);
                }
                foreach (var frame in missed ?? [])
                {
                    connection.TrySendText(frame);
                }

                if (added)
                {
                    _index.Add(pattern, connection);
                }

                return true;
            }
        }
    }

    /// <summary>
    /// What <paramref name="topic"/>'s history on this node holds: after <paramref name="since"/> when it still holds every
    /// event after it (else all it keeps, and <c>Recovered</c> false), oldest first, at most <paramref name="limit"/>.
    /// Null when the topic keeps no history. For a shared history, load this node's copy first.
    /// </summary>
    public TopicHistoryPage? ReadHistory(string topic, RecoveryPosition? since, int limit)
    {
        ArgumentNullException.ThrowIfNull(topic);
        while (true)
        {
            if (TopicName.HasWildcard(topic) || _histories.GetOrAdd(topic) is not { } history)
            {
                return null;
            }

            lock (history.Gate)
            {
                if (history.Retired)
                {
                    continue;
                }

                var now = _time.GetUtcNow().UtcTicks;
                var missed = since is null ? null : history.After(since, now, int.MaxValue, long.MaxValue);
                var events = missed ?? history.Kept(now);
                return new TopicHistoryPage(history.Epoch, history.LastOffset, since is null ? null : missed is not null, [.. events.Take(limit)], events.Count <= limit);
            }
        }
    }

    /// <summary>Removes one subscription; false when the connection did not hold it.</summary>
    public bool Unsubscribe(GatewayConnection connection, string pattern)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.Features.Get<ConnectionSubscriptions>()?.Remove(pattern) != true)
        {
            return false;
        }

        _index.Remove(pattern, connection);
        Observer?.Unsubscribed(connection, pattern);
        return true;
    }

    /// <summary>
    /// Removes every subscription of a session that leaves for another node, with, for each topic that keeps history,
    /// the position it had reached for it: every event up to it was queued to the session, none after it will be.
    /// </summary>
    public List<(string Pattern, TopicPosition? Position)> HandOver(GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var held = new List<(string, TopicPosition?)>();
        foreach (var pattern in Subscriptions(connection).Snapshot())
        {
            if (!TopicName.HasWildcard(pattern) && _histories.Find(pattern) is { } history)
            {
                lock (history.Gate)
                {
                    held.Add((pattern, new TopicPosition(history.Epoch, history.LastOffset, null)));
                    Unsubscribe(connection, pattern);
                }
            }
            else
            {
                held.Add((pattern, null));
                Unsubscribe(connection, pattern);
            }
        }

        return held;
    }

    // The connection's subscriptions are a feature of the connection, made on its first subscribe.
    private static ConnectionSubscriptions Subscriptions(GatewayConnection connection) => connection.Features.GetOrAdd(static () => new ConnectionSubscriptions());

    /// <summary>Removes every subscription of a closed connection.</summary>
    public void RemoveAll(GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        // Cleared even when it never subscribed, so that it is marked closed to any subscribe that comes later.
        foreach (var pattern in Subscriptions(connection).Clear())
        {
            _index.Remove(pattern, connection);
            Observer?.Unsubscribed(connection, pattern);
        }
    }

    /// <summary>
    /// Delivers <c>{"type":…,"channel":…,"data":…,"offset":…}</c> to this node's subscribers of the concrete
    /// <paramref name="topic"/>; <paramref name="data"/> is one JSON value. Returns how many connections took it.
    /// </summary>
    public int PublishLocal(string topic, string type, ReadOnlySpan<byte> data) => PublishLocal(topic, type, data, (IReadOnlySet<string>?)null);

    /// <summary>
    /// As <see cref="PublishLocal(string, string, ReadOnlySpan{byte})"/>, but not to the connections in
    /// <paramref name="exclude"/> (the event is still numbered and kept where the topic has history).
    /// </summary>
    public int PublishLocal(string topic, string type, ReadOnlySpan<byte> data, IReadOnlySet<string>? exclude) => PublishLocal(topic, type, data, exclude, null, out _);

    /// <summary>
    /// As <see cref="PublishLocal(string, string, ReadOnlySpan{byte})"/>, for an event a client published: its frame (the
    /// one kept in the history too) carries <c>"from"</c>.
    /// </summary>
    public int PublishLocal(string topic, string type, ReadOnlySpan<byte> data, EventOrigin from) => PublishLocal(topic, type, data, null, from, out _);

    /// <summary>
    /// As <see cref="PublishLocal(string, string, ReadOnlySpan{byte}, EventOrigin)"/>, giving where the event was kept
    /// when the topic keeps history (<paramref name="position"/>, else null).
    /// </summary>
    public int PublishLocal(string topic, string type, ReadOnlySpan<byte> data, EventOrigin from, out HistoryPosition? position) =>
        PublishLocal(topic, type, data, null, from, out position);

    private int PublishLocal(string topic, string type, ReadOnlySpan<byte> data, IReadOnlySet<string>? exclude, EventOrigin? from, out HistoryPosition? position)
    {
        position = null;
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(type);
        while (true)
        {
            var history = _histories.GetOrAdd(topic);
            if (history is null)
            {
                return Deliver(topic, TopicFrames.Event(topic, type, data, from, null), exclude);
            }

            // The one place a lock is held while frames are queued (the rule is never to hold one while sending). A topic
            // with history must hand out offsets and queue its events in one order for every subscriber, and a
            // recovering subscribe (which replays the missed events, then joins the live ones) must find a cut with no
            // gap and no duplicate; both take this topic's gate. What runs under it never waits: TrySend only adds to a
            // bounded queue (a full one closes that connection as a slow consumer), and no socket is written.
            lock (history.Gate)
            {
                if (history.Retired)
                {
                    continue;
                }

                var offset = history.NextOffset();
                var frame = TopicFrames.Event(topic, type, data, from, offset);
                history.Append(offset, _time.GetUtcNow().UtcTicks, frame);
                position = new HistoryPosition(history.Epoch, offset);
                return Deliver(topic, frame, exclude);
            }
        }
    }

    /// <summary>The history rule of a concrete topic, or null when it keeps none.</summary>
    public TopicHistoryOptions? HistoryRule(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _histories.RuleOf(topic);
    }

    /// <summary>How many of this node's connections a publish to <paramref name="topic"/> reaches now.</summary>
    public int CountSubscribers(string topic) => CountSubscribers(topic, null);

    /// <summary>How many connections of this node subscribe to <paramref name="topic"/>, but those in <paramref name="exclude"/>.</summary>
    public int CountSubscribers(string topic, IReadOnlySet<string>? exclude)
    {
        var matched = SubscribersOf(topic);
        return exclude is null || exclude.Count == 0 ? matched.Count : matched.Count(c => !exclude.Contains(c.Id));
    }

    /// <summary>This node's connections a publish to <paramref name="topic"/> reaches now, each once.</summary>
    public HashSet<GatewayConnection> SubscribersOf(string topic)
    {
        var matched = new HashSet<GatewayConnection>(ReferenceEqualityComparer.Instance);
        _index.Match(topic, matched);
        return matched;
    }

    /// <summary>
    /// This node's subscribed patterns that start with <paramref name="prefix"/> and sort after <paramref name="after"/>:
    /// the first <paramref name="max"/> in ordinal order with their subscriber counts, and how many match the prefix in all.
    /// </summary>
    public (List<KeyValuePair<string, int>> Page, int Matching) PatternsAfter(string prefix, string after, int max) => _index.PatternsAfter(prefix, after, max);

    /// <summary>Delivers an event live, without offset or history (events a service published straight into the backplane).</summary>
    public int DeliverLive(string topic, string type, ReadOnlySpan<byte> data) => Deliver(topic, TopicFrames.Event(topic, type, data, null));

    /// <summary>
    /// Queues a frame that is not an event of the topic (a presence join or leave, say) to everyone a publish to
    /// <paramref name="topic"/> reaches now, but the connections in <paramref name="exclude"/>. Returns how many took it.
    /// </summary>
    public int DeliverFrame(string topic, byte[] frame, IReadOnlySet<string>? exclude) => Deliver(topic, frame, exclude);

    /// <summary>Delivers an event live, without offset or history, but not to the connections in <paramref name="exclude"/>.</summary>
    public int DeliverLive(string topic, string type, ReadOnlySpan<byte> data, IReadOnlySet<string>? exclude) => DeliverLive(topic, type, data, exclude, null);

    /// <summary>As <see cref="DeliverLive(string, string, ReadOnlySpan{byte}, IReadOnlySet{string})"/>, the frame carrying who published it when a client did.</summary>
    public int DeliverLive(string topic, string type, ReadOnlySpan<byte> data, IReadOnlySet<string>? exclude, EventOrigin? from) =>
        Deliver(topic, TopicFrames.Event(topic, type, data, from, null), exclude);

    /// <summary>
    /// An event of a shared history, as the backplane hands it to every node in offset order: kept in this node's copy
    /// of the history (a new epoch replaces the copy) and delivered to this node's subscribers. Returns how many took it.
    /// </summary>
    public int ApplyShared(string topic, string epoch, long offset, DateTimeOffset at, byte[] frame)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(frame);
        while (true)
        {
            // A node keeps a copy only of topics its own clients subscribe to; the others it just delivers (to nobody,
            // usually), and reads the shared history when a client subscribes.
            var history = _histories.Find(topic);
            if (history is null)
            {
                return Deliver(topic, frame);
            }

            lock (history.Gate)
            {
                if (history.Retired)
                {
                    continue;
                }

                if (history.Epoch != epoch)
                {
                    _histories.Retire(topic, history);
                    continue;
                }

                if (offset <= history.LastOffset)
                {
                    return 0;
                }

                if (!history.Append(offset, at.UtcTicks, frame))
                {
                    // Events were missed (this node was cut off from the backplane): read the shared history again on
                    // the next subscribe. Only consecutive offsets show it; with gaps, the backplane's reconnect does.
                    history.Loaded = false;
                }

                return Deliver(topic, frame);
            }
        }
    }

    /// <summary>Whether this node's copy of a shared history has been read from the backplane.</summary>
    public bool IsSharedHistoryLoaded(string topic) => _histories.Find(topic) is { Loaded: true };

    /// <summary>A mark to take just before reading a topic's shared history, and to hand to <see cref="LoadShared"/> with what was read.</summary>
    public long SharedReadMark() => _histories.Mark();

    /// <summary>
    /// Fills this node's copy of a shared history with what the backplane keeps (before a subscribe), read after
    /// <paramref name="mark"/> (<see cref="SharedReadMark"/>); <paramref name="consecutiveOffsets"/> is the backplane's
    /// <see cref="Backplane.IBackplane.ConsecutiveOffsets"/>. False when the history must be read again: the copy was
    /// made (the first time a client of this node subscribes to the topic) or interrupted after the read began, and
    /// keeps what the backplane delivers from now on.
    /// </summary>
    public bool LoadShared(string topic, Backplane.SharedTopicHistory shared, bool consecutiveOffsets, long mark)
    {
        ArgumentNullException.ThrowIfNull(shared);
        return _histories.Load(topic, shared, consecutiveOffsets, mark);
    }

    /// <summary>
    /// The backplane reconnected: shared events may have been missed meanwhile. Copies of histories whose offsets have
    /// gaps (which cannot show a miss) are read again before a client recovers from them.
    /// </summary>
    public void InterruptShared() => _histories.Interrupt();

    /// <inheritdoc />
    public void Dispose() => _index.Dispose();

    private int Deliver(string topic, byte[] frame, IReadOnlySet<string>? exclude = null)
    {
        var matched = t_matched ??= new HashSet<GatewayConnection>(ReferenceEqualityComparer.Instance);
        try
        {
            _index.Match(topic, matched);

            // Framed once for all its subscribers: each socket writes the same bytes.
            var message = matched.Count > 1 ? SharedFrame.Create(frame, OutboundKind.Text) : OutboundMessage.Text(frame);
            var delivered = 0;
            foreach (var connection in matched)
            {
                if (exclude is not null && exclude.Contains(connection.Id))
                {
                    continue;
                }

                if (connection.TrySend(message) == SendResult.Sent)
                {
                    delivered++;
                }
            }

            return delivered;
        }
        finally
        {
            if (matched.Count > 1024)
            {
                // A large fan-out leaves a large table; clearing it would cost every later publish on this thread.
                t_matched = null;
            }
            else
            {
                matched.Clear();
            }
        }
    }
}
