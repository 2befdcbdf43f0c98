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

        var delivered = topics.PublishLocal(topic, type, data.Span);
        await backplane.PublishAsync(topic, type, data, cancellationToken);
        return delivered;
    }

    /// <inheritdoc />
    public async ValueTask<int> SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
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
