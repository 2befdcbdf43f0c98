using System.Globalization;
using Gateway.Connections;

namespace Gateway.Hosting;

/// <summary>What a request that asks to resume a session names.</summary>
/// <param name="Ticket">The session, or null when what the request carried is not valid.</param>
/// <param name="Invalid">Why not, when <paramref name="Ticket"/> is null (<c>invalid</c>, <c>expired</c>).</param>
/// <param name="Received">The data frames its client has received; null: every frame written.</param>
internal sealed record ResumeAsk(ResumeTicket? Ticket, string Invalid, long? Received)
{
    /// <summary>A WebSocket handshake's <c>resume</c> token and <c>received</c> count.</summary>
    public static ResumeAsk OfToken(ResumeTokens tokens, string token, string received, DateTimeOffset now) =>
        new(tokens.Read(token, now, out var invalid), invalid, long.TryParse(received, NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : null);

    /// <summary>
    /// An event stream's <c>Last-Event-ID</c>, <c>{n}.{connectionId}.{nodeId}.{key}</c>: the session is the client's when
    /// the key is the connection's; the user is checked as a token's would be (it must be <paramref name="userId"/>,
    /// the one who authenticated now, and the session's).
    /// </summary>
    public static ResumeAsk OfLastEventId(ResumeTokens tokens, string lastEventId, string? userId)
    {
        var parts = lastEventId.Length <= 200 ? lastEventId.Split('.') : [];
        if (parts.Length != 4
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var received)
            || !ConnectionId.IsWellFormed(parts[1])
            || !ConnectionId.IsValidNodeId(parts[2])
            || !tokens.IsConnectionKey(parts[1], parts[3]))
        {
            return new(null, "invalid_event_id", null);
        }

        return new(new ResumeTicket(parts[1], parts[2], userId, GatewayConnection.AnyGeneration, DateTimeOffset.MaxValue), "", received);
    }
}
