using Gateway.Connections;

namespace Gateway.Backplane;

/// <summary>
/// The single-node backplane, the default: there are no other nodes, so a connection id minted by any
/// other node (an earlier run of this one included) is gone, and a broadcast has no one else to reach.
/// </summary>
/// <param name="time">The clock that expires keys (the system clock when not given).</param>
/// <param name="node">This node, whose id its presence members carry.</param>
public sealed class InMemoryBackplane(TimeProvider? time = null, GatewayNode? node = null) : IBackplane
{
    private readonly LocalKeys _keys = new(time ?? TimeProvider.System);

    /// <inheritdoc />
    public PresenceRoster Presence { get; } = new(node?.Id ?? "local", time ?? TimeProvider.System);

    /// <inheritdoc />
    public PresenceRoster Occupancy { get; } = new(node?.Id ?? "local", time ?? TimeProvider.System);

    /// <inheritdoc />
    public ValueTask<SendResult> SendAsync(string connectionId, OutboundMessage message, CancellationToken cancellationToken) =>
        ValueTask.FromResult(SendResult.Gone);

    /// <inheritdoc />
    public ValueTask<bool> DisconnectAsync(string connectionId, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    /// <inheritdoc />
    public ValueTask<ConnectionSnapshot?> GetConnectionAsync(string connectionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ConnectionSnapshot?>(null);

    /// <inheritdoc />
    public ValueTask<bool> SetAttributesAsync(string connectionId, IReadOnlyDictionary<string, string?> changes, CancellationToken cancellationToken) =>
        ValueTask.FromResult(false);

    /// <inheritdoc />
    public ValueTask BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask BroadcastAsync(OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask SendToUserAsync(string userId, OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, IReadOnlySet<string> exclude, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, EventOrigin from, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask<bool> SetKeyAsync(string key, ReadOnlyMemory<byte> value, TimeSpan ttl, bool onlyIfAbsent, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_keys.Set(key, value, ttl, onlyIfAbsent));

    /// <inheritdoc />
    public ValueTask<byte[]?> GetKeyAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult(_keys.Get(key));

    /// <inheritdoc />
    public ValueTask DeleteKeyAsync(string key, CancellationToken cancellationToken)
    {
        _keys.Delete(key);
        return ValueTask.CompletedTask;
    }
}
