namespace Gateway.Backplane;

/// <summary>What a node that holds a session answers when a client resumes it on another node.</summary>
/// <param name="Handover">The session's state and the frames it missed, for the other node to carry on with; null when refused.</param>
/// <param name="Refused">Why not (<c>gone</c>, <c>replayed</c>, <c>user</c>, <c>lost</c>, <c>busy</c>); empty when handed over.</param>
public readonly record struct SessionHandoverResult(byte[]? Handover, string Refused);

/// <summary>
/// Hands this node's resumable sessions over to another node, when their client resumes there. The hosting part
/// implements it (the backplane sits below connections' lifecycle and topics, and carries only the request).
/// </summary>
public interface ILocalSessions
{
    /// <summary>
    /// Hands session <paramref name="connectionId"/> over to <paramref name="toNode"/>, when the resume token's number
    /// <paramref name="generation"/> and <paramref name="userId"/> match and the frames after the client's
    /// <paramref name="received"/> th are kept. <paramref name="markMoved"/> is called before the session leaves this
    /// node, so that calls for it from then on are sent on to <paramref name="toNode"/>.
    /// </summary>
    ValueTask<SessionHandoverResult> HandOverAsync(string connectionId, uint generation, long? received, string? userId, string toNode, Action markMoved, CancellationToken cancellationToken);
}
