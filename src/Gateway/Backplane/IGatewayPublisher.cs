using Gateway.Connections;

namespace Gateway.Backplane;

/// <summary>Publishing from in-process code: to topic subscribers, to all connections of a user, to everyone.</summary>
public interface IGatewayPublisher
{
    /// <summary>
    /// Publishes <c>{"type": type, "channel": topic, "data": data}</c> (with <c>offset</c> where the topic keeps history)
    /// to the subscribers of the concrete <paramref name="topic"/> on every node; <paramref name="data"/> is one JSON value.
    /// Returns how many connections of this node took it.
    /// </summary>
    ValueTask<int> PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Sends a frame to every connection of <paramref name="userId"/> (the JWT subject) on every node; returns how many of this node took it.</summary>
    ValueTask<int> SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken = default);

    /// <summary>Sends a frame to every connection of every node; returns how many of this node took it.</summary>
    ValueTask<int> BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="PublishAsync(string, string, ReadOnlyMemory{byte}, CancellationToken)"/>, but not to the connections in <paramref name="exclude"/>, on any node.</summary>
    ValueTask<int> PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, IReadOnlySet<string> exclude, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="SendToUserAsync(string, OutboundMessage, CancellationToken)"/>, but not to the connections in <paramref name="exclude"/>, on any node.</summary>
    ValueTask<int> SendToUserAsync(string userId, OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="BroadcastAsync(OutboundMessage, CancellationToken)"/>, but not to the connections in <paramref name="exclude"/>, on any node.</summary>
    ValueTask<int> BroadcastAsync(OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken = default);
}
