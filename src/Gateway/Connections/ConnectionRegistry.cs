using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Gateway.Connections;

/// <summary>This node's live connections: O(1) lookup by id, lock-free enumeration for fan-out.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, GatewayConnection> _connections = new(StringComparer.Ordinal);

    // User id → that user's connections on this node. Only authenticated connections with a user id are in it.
    private readonly Dictionary<string, HashSet<GatewayConnection>> _users = new(StringComparer.Ordinal);
    private int _slots;
    private volatile bool _draining;
    private TaskCompletionSource? _emptied;

    /// <summary>Connections registered (upgraded and not yet closed).</summary>
    public int Count => _connections.Count;

    /// <summary>Handshakes in progress plus registered connections.</summary>
    public int SlotsInUse => Volatile.Read(ref _slots);

    /// <summary>Claims a slot for a new handshake; false when <paramref name="max"/> are in use.</summary>
    public bool TryReserveSlot(int max)
    {
        if (Interlocked.Increment(ref _slots) > max)
        {
            Interlocked.Decrement(ref _slots);
            return false;
        }

        return true;
    }

    /// <summary>Frees a slot claimed by <see cref="TryReserveSlot"/>.</summary>
    public void ReleaseSlot()
    {
        if (Interlocked.Decrement(ref _slots) == 0 && _draining)
        {
            Volatile.Read(ref _emptied)?.TrySetResult();
        }
    }

    /// <summary>True once the node has begun shutting down: no new handshakes are accepted.</summary>
    public bool IsDraining => _draining;

    /// <summary>Stops accepting handshakes and returns a task that completes when every slot is free.</summary>
    public Task BeginDrain()
    {
        var emptied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _emptied, emptied, null) is { } existing)
        {
            return existing.Task;
        }

        _draining = true;
        if (Volatile.Read(ref _slots) == 0)
        {
            emptied.TrySetResult();
        }

        return emptied.Task;
    }

    /// <summary>Registers an upgraded connection.</summary>
    public void Add(GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connections[connection.Id] = connection;
        IndexUser(connection, connection.UserId);
    }

    /// <summary>Removes a closed connection.</summary>
    public void Remove(GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connections.TryRemove(new KeyValuePair<string, GatewayConnection>(connection.Id, connection));
        UnindexUser(connection, connection.UserId);
    }

    /// <summary>Moves a connection whose user id changed (an anonymous one that authenticated) in the user index.</summary>
    public void UserChanged(GatewayConnection connection, string? previousUserId)
    {
        ArgumentNullException.ThrowIfNull(connection);
        UnindexUser(connection, previousUserId);
        if (_connections.TryGetValue(connection.Id, out var registered) && ReferenceEquals(registered, connection))
        {
            IndexUser(connection, connection.UserId);
        }
    }

    /// <summary>This node's connections of <paramref name="userId"/> (a copy).</summary>
    public GatewayConnection[] OfUser(string userId)
    {
        lock (_users)
        {
            return _users.TryGetValue(userId, out var set) ? [.. set] : [];
        }
    }

    private void IndexUser(GatewayConnection connection, string? userId)
    {
        if (userId is null)
        {
            return;
        }

        lock (_users)
        {
            if (!_users.TryGetValue(userId, out var set))
            {
                _users[userId] = set = new HashSet<GatewayConnection>(ReferenceEqualityComparer.Instance);
            }

            set.Add(connection);
        }
    }

    private void UnindexUser(GatewayConnection connection, string? userId)
    {
        if (userId is null)
        {
            return;
        }

        lock (_users)
        {
            if (_users.TryGetValue(userId, out var set) && set.Remove(connection) && set.Count == 0)
            {
                _users.Remove(userId);
            }
        }
    }

    /// <summary>Finds a live connection of this node by id; one still waiting for its credentials is not found.</summary>
    public bool TryGet(string connectionId, [NotNullWhen(true)] out GatewayConnection? connection) =>
        _connections.TryGetValue(connectionId, out connection) && !connection.AwaitingCredentials;

    /// <summary>Every registered connection; a moving snapshot that never blocks adds, removes or sends.</summary>
    public IEnumerable<GatewayConnection> All()
    {
        foreach (var pair in _connections)
        {
            yield return pair.Value;
        }
    }
}
