using System.Collections.Concurrent;
using Gateway.Connections;

namespace Gateway.Backplane;

/// <summary>
/// The single-node backplane, the default: there are no other nodes, so a connection id minted by any
/// other node (an earlier run of this one included) is gone, and a broadcast has no one else to reach. Shared keys
/// are kept in this node's memory until their TTL runs out.
/// </summary>
public sealed class InMemoryBackplane : IBackplane
{
    // How many keys are kept before a set drops the expired ones (at most once a minute).
    private const int SweepAbove = 1024;

    private readonly ConcurrentDictionary<string, (byte[] Value, DateTimeOffset Expires)> _keys = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _nextSweepTicks;

    /// <summary>Creates the backplane on the system clock.</summary>
    public InMemoryBackplane()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Creates the backplane; <paramref name="time"/> runs out the keys' TTLs.</summary>
    public InMemoryBackplane(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
    }

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
    public ValueTask<bool> SetKeyAsync(string key, ReadOnlyMemory<byte> value, TimeSpan ttl, bool onlyIfAbsent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var now = _time.GetUtcNow();
        var entry = (value.ToArray(), now + ttl);
        if (_keys.Count >= SweepAbove && now.UtcTicks >= Interlocked.Read(ref _nextSweepTicks))
        {
            Interlocked.Exchange(ref _nextSweepTicks, (now + TimeSpan.FromMinutes(1)).UtcTicks);
            // Keys nobody reads again would stay: drop the expired ones once there are many.
            foreach (var held in _keys)
            {
                if (held.Value.Expires <= now)
                {
                    _keys.TryRemove(held);
                }
            }
        }

        if (!onlyIfAbsent)
        {
            _keys[key] = entry;
            return ValueTask.FromResult(true);
        }

        while (true)
        {
            if (_keys.TryAdd(key, entry))
            {
                return ValueTask.FromResult(true);
            }

            if (!_keys.TryGetValue(key, out var held) || held.Expires > now)
            {
                return ValueTask.FromResult(false);
            }

            // An expired key counts as absent.
            if (_keys.TryUpdate(key, entry, held))
            {
                return ValueTask.FromResult(true);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<byte[]?> GetKeyAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!_keys.TryGetValue(key, out var held))
        {
            return ValueTask.FromResult<byte[]?>(null);
        }

        if (held.Expires <= _time.GetUtcNow())
        {
            _keys.TryRemove(KeyValuePair.Create(key, held));
            return ValueTask.FromResult<byte[]?>(null);
        }

        return ValueTask.FromResult<byte[]?>(held.Value);
    }

    /// <inheritdoc />
    public ValueTask DeleteKeyAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        _keys.TryRemove(key, out _);
        return ValueTask.CompletedTask;
    }
}
