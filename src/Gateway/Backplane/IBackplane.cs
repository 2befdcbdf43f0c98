using Gateway.Connections;

namespace Gateway.Backplane;

/// <summary>
/// Reaches connections held by other nodes. Sends to this node's own connections never come here:
/// <see cref="ConnectionSender"/> short-circuits them.
/// </summary>
public interface IBackplane
{
    /// <summary>True while other nodes can be reached (always for the single-node backplane); readiness reports it.</summary>
    bool IsAvailable => true;

    /// <summary>Sends to a connection owned by another node.</summary>
    ValueTask<SendResult> SendAsync(string connectionId, OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>Closes a connection owned by another node; false when it is gone.</summary>
    ValueTask<bool> DisconnectAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>Describes a connection owned by another node, or null when it is gone.</summary>
    ValueTask<ConnectionSnapshot?> GetConnectionAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>Sets (or, with a null value, removes) attributes of a connection owned by another node; false when it is gone.</summary>
    ValueTask<bool> SetAttributesAsync(string connectionId, IReadOnlyDictionary<string, string?> changes, CancellationToken cancellationToken);

    /// <summary>Sends to every connection of every other node.</summary>
    ValueTask BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>Sends to every connection of <paramref name="userId"/> on every other node.</summary>
    ValueTask SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>Publishes a topic event (<paramref name="data"/> is one JSON value) to the subscribers of every other node.</summary>
    ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);
}
