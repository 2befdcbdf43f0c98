using Gateway.Backplane;
using Gateway.Connections;

namespace Gateway.Topics;

/// <summary>Publishes on this node, and through the backplane to the others.</summary>
public sealed class GatewayPublisher(TopicHub topics, ConnectionRegistry registry, ConnectionSender sender, IBackplane backplane) : IGatewayPublisher
{
    /// <inheritdoc />
    public async ValueTask<int> PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
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
            // The backplane numbers the event and hands it to every node, this one included, in offset order.
            var delivered = topics.CountSubscribers(topic);
            await backplane.PublishWithHistoryAsync(new HistoryEvent(topic, type, data.ToArray(), TopicFrames.EventPrefix(topic, type, data.Span), rule.Size, rule.Ttl), cancellationToken);
            return delivered;
        }

        if (backplane.EchoesFanOut && backplane.IsAvailable)
        {
            var reached = topics.CountSubscribers(topic);
            await backplane.PublishAsync(topic, type, data, cancellationToken);
            return reached;
        }

        var local = topics.PublishLocal(topic, type, data.Span);
        await backplane.PublishAsync(topic, type, data, cancellationToken);
        return local;
    }

    /// <inheritdoc />
    public async ValueTask<int> SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (backplane.EchoesFanOut && backplane.IsAvailable)
        {
            var reached = registry.OfUser(userId).Length;
            await backplane.SendToUserAsync(userId, message, cancellationToken);
            return reached;
        }

        var delivered = 0;
        foreach (var connection in registry.OfUser(userId))
        {
            if (connection.TrySend(message) == SendResult.Sent)
            {
                delivered++;
            }
        }

        await backplane.SendToUserAsync(userId, message, cancellationToken);
        return delivered;
    }

    /// <inheritdoc />
    public ValueTask<int> BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken = default) =>
        sender.BroadcastAsync(message, cancellationToken);
}
