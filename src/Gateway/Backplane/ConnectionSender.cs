using Gateway.Connections;

namespace Gateway.Backplane;

/// <summary>
/// Every send to a connection by id goes through here: a connection of this node is reached directly
/// through its send queue; any other goes through the <see cref="IBackplane"/>.
/// </summary>
public sealed class ConnectionSender(GatewayNode node, ConnectionRegistry registry, IBackplane backplane)
{
    private readonly LocalConnections _local = new(registry);

    /// <summary>
    /// True when <paramref name="connectionId"/> is this node's to answer for: it is here (a session that resumed here
    /// from another node included), or this node minted it and it did not resume elsewhere.
    /// </summary>
    public bool IsLocal(string connectionId) =>
        _local.Has(connectionId) || (node.Owns(connectionId) && !backplane.HoldsElsewhere(connectionId));

    /// <summary>Sends to a connection on any node.</summary>
    public ValueTask<SendResult> SendAsync(string connectionId, OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (!ConnectionId.IsWellFormed(connectionId))
        {
            return ValueTask.FromResult(SendResult.BadId);
        }

        if (IsLocal(connectionId))
        {
            // Gone here as it resumed on another node: it is there.
            var result = _local.Send(connectionId, message);
            return result == SendResult.Gone && backplane.HoldsElsewhere(connectionId)
                ? backplane.SendAsync(connectionId, message, cancellationToken)
                : ValueTask.FromResult(result);
        }

        return backplane.SendAsync(connectionId, message, cancellationToken);
    }

    /// <summary>
    /// Hands a message a Server-Sent Events client posted, numbered <paramref name="seq"/>, to its connection on any node
    /// (or, with <paramref name="close"/>, the client's close); the answer comes from the node that holds it.
    /// </summary>
    public ValueTask<SsePostAnswer> PostAsync(string connectionId, long seq, byte[] body, bool binary, bool close = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (!ConnectionId.IsWellFormed(connectionId))
        {
            return ValueTask.FromResult(new SsePostAnswer(SsePostOutcome.Gone, 0));
        }

        if (IsLocal(connectionId))
        {
            var answer = _local.Post(connectionId, seq, body, binary, close);
            return answer.Outcome == SsePostOutcome.Gone && backplane.HoldsElsewhere(connectionId)
                ? backplane.PostAsync(connectionId, seq, body, binary, close, cancellationToken)
                : ValueTask.FromResult(answer);
        }

        return backplane.PostAsync(connectionId, seq, body, binary, close, cancellationToken);
    }

    /// <summary>Closes a connection on any node with <paramref name="status"/>; false when it is gone.</summary>
    public ValueTask<bool> DisconnectAsync(string connectionId, int status = CloseCodes.Normal, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (IsLocal(connectionId))
        {
            return ValueTask.FromResult(_local.Disconnect(connectionId, status, reason));
        }

        return ConnectionId.IsWellFormed(connectionId) ? backplane.DisconnectAsync(connectionId, cancellationToken) : ValueTask.FromResult(false);
    }

    /// <summary>Describes a connection on any node, or null when it is gone.</summary>
    public ValueTask<ConnectionSnapshot?> GetConnectionAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (IsLocal(connectionId))
        {
            return ValueTask.FromResult(_local.Describe(connectionId));
        }

        return ConnectionId.IsWellFormed(connectionId)
            ? backplane.GetConnectionAsync(connectionId, cancellationToken)
            : ValueTask.FromResult<ConnectionSnapshot?>(null);
    }

    /// <summary>Sets (or, with a null value, removes) attributes of a connection on any node; false when it is gone.</summary>
    public ValueTask<bool> SetAttributesAsync(string connectionId, IReadOnlyDictionary<string, string?> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(changes);
        if (IsLocal(connectionId))
        {
            return ValueTask.FromResult(_local.SetAttributes(connectionId, changes));
        }

        return ConnectionId.IsWellFormed(connectionId) ? backplane.SetAttributesAsync(connectionId, changes, cancellationToken) : ValueTask.FromResult(false);
    }

    /// <summary>Sends one message (one buffer, shared) to every connection of every node; returns how many local ones took it.</summary>
    public ValueTask<int> BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken = default) =>
        BroadcastAsync(message, new HashSet<string>(StringComparer.Ordinal), cancellationToken);

    /// <summary>Sends one message to every connection of every node but those in <paramref name="exclude"/>; returns how many local ones took it.</summary>
    public async ValueTask<int> BroadcastAsync(OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(exclude);
        if (backplane.EchoesFanOut && backplane.IsAvailable)
        {
            // Through the backplane to every node, this one included, so that all deliver in one order.
            var reached = registry.All().Count(c => c.IsOpen && !c.AwaitingCredentials && !exclude.Contains(c.Id));
            await backplane.BroadcastAsync(message, exclude, cancellationToken);
            return reached;
        }

        var delivered = _local.Broadcast(message, exclude);
        await backplane.BroadcastAsync(message, exclude, cancellationToken);
        return delivered;
    }
}
