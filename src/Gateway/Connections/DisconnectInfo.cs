namespace Gateway.Connections;

/// <summary>How a connection ended: the close code and reason reported to <c>$disconnect</c>.</summary>
/// <param name="StatusCode">The WebSocket close code (1006 when the socket was lost without a close frame).</param>
/// <param name="Reason">The close reason, possibly empty.</param>
/// <param name="InitiatedByClient">True when the client sent the first close frame.</param>
public readonly record struct DisconnectInfo(int StatusCode, string Reason, bool InitiatedByClient);
