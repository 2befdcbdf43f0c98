using Gateway.Backplane;
using Gateway.Connections;

namespace Gateway.Topics;

/// <summary>Publishes on this node, and through the backplane to the others.</summary>
public sealed class GatewayPublisher(TopicHub topics, ConnectionRegistry registry, ConnectionSender sender, IBackplane backplane) : IGatewayPublisher
{
    private readonly LocalConnections _local = new(registry);

    /// <inheritdoc />
    public ValueTask<int> PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        PublishAsync(topic, type, data, NoOne, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<int> PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, IReadOnlySet<string> exclude, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(exclude);
        return (await PublishAsync(topic, type, data, exclude, null, cancellationToken)).Delivered;
    }

    /// <summary>
    /// As <see cref="PublishAsync(string, string, ReadOnlyMemory{byte}, CancellationToken)"/>, for an event a client
    /// published: every frame of it, on every node and in the history, carries <c>"from"</c> (<paramref name="from"/>).
    /// Returns where the event was kept when the topic keeps history, else null.
    /// </summary>
    public async ValueTask<HistoryPosition?> PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, EventOrigin from, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        return (await PublishAsync(topic, type, data, NoOne, from, cancellationToken)).Position;
    }

    private async ValueTask<(int Delivered, HistoryPosition? Position)> PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, IReadOnlySet<string> exclude, EventOrigin? from, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!TopicName.IsValidName(topic, int.MaxValue))
        {
            throw new ArgumentException($"'{topic}' is not a concrete topic name", nameof(topic));
        }

        if (!TopicData.IsValid(data.Span))
        {
            throw new ArgumentException("data must be one JSON value in UTF-8", nameof(data));
        }

        if (backplane.SharesHistory && topics.HistoryRule(topic) is { } rule)
        {
            if (exclude.Count > 0)
            {
                throw new NotSupportedException("a publish that excludes connections cannot go into a history shared by the nodes");
            }

            // The backplane numbers the event and hands it to every node, this one included, in offset order.
            var delivered = topics.CountSubscribers(topic);
            var historyEvent = new HistoryEvent(topic, type, data.ToArray(), TopicFrames.EventPrefix(topic, type, data.Span, from), rule.Size, rule.Ttl, from);
            if (from is null)
            {
                await backplane.PublishWithHistoryAsync(historyEvent, cancellationToken);
                return (delivered, null);
            }

            return (delivered, await backplane.PublishWithHistoryAtAsync(historyEvent, cancellationToken));
        }

        if (backplane.EchoesFanOut && backplane.IsAvailable)
        {
            var reached = topics.CountSubscribers(topic, exclude);
            await PublishOthersAsync(topic, type, data, exclude, from, cancellationToken);
            return (reached, null);
        }

        HistoryPosition? position = null;
        var local = from is null ? topics.PublishLocal(topic, type, data.Span, exclude) : topics.PublishLocal(topic, type, data.Span, from, out position);
        await PublishOthersAsync(topic, type, data, exclude, from, cancellationToken);
        return (local, position);
    }

    private ValueTask PublishOthersAsync(string topic, string type, ReadOnlyMemory<byte> data, IReadOnlySet<string> exclude, EventOrigin? from, CancellationToken cancellationToken) =>
        from is null ? backplane.PublishAsync(topic, type, data, exclude, cancellationToken) : backplane.PublishAsync(topic, type, data, from, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken = default) =>
        SendToUserAsync(userId, message, NoOne, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<int> SendToUserAsync(string userId, OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(exclude);
        if (backplane.EchoesFanOut && backplane.IsAvailable)
        {
            var reached = registry.OfUser(userId).Count(c => !exclude.Contains(c.Id));
            await backplane.SendToUserAsync(userId, message, exclude, cancellationToken);
            return reached;
        }

        var delivered = _local.SendToUser(userId, message, exclude);
        await backplane.SendToUserAsync(userId, message, exclude, cancellationToken);
        return delivered;
    }

    /// <inheritdoc />
    public ValueTask<int> BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken = default) =>
        sender.BroadcastAsync(message, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> BroadcastAsync(OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken = default) =>
        sender.BroadcastAsync(message, exclude, cancellationToken);

    private static readonly IReadOnlySet<string> NoOne = new HashSet<string>(StringComparer.Ordinal);
}
