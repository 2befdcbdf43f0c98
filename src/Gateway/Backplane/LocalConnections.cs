using Gateway.Connections;

namespace Gateway.Backplane;

/// <summary>
/// The operations on this node's own connections: one code path for a call made here (<see cref="ConnectionSender"/>)
/// and for one another node asked this node to carry out (<see cref="ClusterBackplane"/>).
/// </summary>
public sealed class LocalConnections(ConnectionRegistry registry)
{
    /// <summary>True while connection <paramref name="connectionId"/> is on this node.</summary>
    public bool Has(string connectionId) => registry.TryGet(connectionId, out _);

    /// <summary>Queues a message to a connection of this node; gone when it is not here.</summary>
    public SendResult Send(string connectionId, OutboundMessage message) =>
        registry.TryGet(connectionId, out var connection) ? connection.TrySendWritingThrough(message) : SendResult.Gone;

    /// <summary>Closes a connection of this node; false when it is not here or already closing.</summary>
    public bool Disconnect(string connectionId, int status, string? reason) =>
        registry.TryGet(connectionId, out var connection) && connection.Close(status, reason);

    /// <summary>
    /// Hands a message a Server-Sent Events client posted (or, with <paramref name="close"/>, its close) to a connection of
    /// this node, numbered <paramref name="seq"/>; gone when it is not here, or not such a connection.
    /// </summary>
    public SsePostAnswer Post(string connectionId, long seq, byte[] body, bool binary, bool close = false)
    {
        if (!registry.TryGet(connectionId, out var connection))
        {
            return new(SsePostOutcome.Gone, 0);
        }

        if (connection.IsWaiting)
        {
            return new(SsePostOutcome.Reconnecting, connection.FeatureOrNull<SseSession>()?.Applied + 1 ?? 0);
        }

        if (!connection.IsOpen || connection.FeatureOrNull<SseSession>() is not { } session)
        {
            return new(SsePostOutcome.Gone, 0);
        }

        return close ? new(session.Close(), 0) : session.Post(seq, body, binary);
    }

    /// <summary>Describes an open connection of this node, or null.</summary>
    public ConnectionSnapshot? Describe(string connectionId) =>
        registry.TryGet(connectionId, out var connection) && connection.IsOpen ? ConnectionSnapshot.Of(connection) : null;

    /// <summary>Sets (or, with a null value, removes) attributes of an open connection of this node; false when it is not here.</summary>
    public bool SetAttributes(string connectionId, IEnumerable<KeyValuePair<string, string?>> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (!registry.TryGet(connectionId, out var connection) || !connection.IsOpen)
        {
            return false;
        }

        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                connection.Attributes.Remove(key);
            }
            else
            {
                connection.Attributes[key] = value;
            }
        }

        return true;
    }

    /// <summary>Queues one message to every connection of this node past its handshake (but those in <paramref name="exclude"/>); returns how many took it.</summary>
    public int Broadcast(OutboundMessage message, IReadOnlySet<string>? exclude = null)
    {
        // Framed once for every socket it goes to.
        message = SharedFrame.Share(message);
        var delivered = 0;
        foreach (var connection in registry.All())
        {
            if (!connection.AwaitingCredentials && (exclude is null || !exclude.Contains(connection.Id)) && connection.TrySend(message) == SendResult.Sent)
            {
                delivered++;
            }
        }

        return delivered;
    }

    /// <summary>Queues one message to every connection of <paramref name="userId"/> on this node (but those in <paramref name="exclude"/>); returns how many took it.</summary>
    public int SendToUser(string userId, OutboundMessage message, IReadOnlySet<string>? exclude = null)
    {
        var delivered = 0;
        var connections = registry.OfUser(userId);

        // A user on several sockets (tabs, devices): framed once for all of them.
        message = connections.Length > 1 ? SharedFrame.Share(message) : message;
        foreach (var connection in connections)
        {
            if ((exclude is null || !exclude.Contains(connection.Id)) && connection.TrySend(message) == SendResult.Sent)
            {
                delivered++;
            }
        }

        return delivered;
    }

    /// <summary>The ids of <paramref name="userId"/>'s open connections on this node.</summary>
    public IEnumerable<string> OfUser(string userId) => registry.OfUser(userId).Where(c => c.IsOpen).Select(c => c.Id);
}
