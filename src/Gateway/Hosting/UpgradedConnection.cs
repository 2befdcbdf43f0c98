using Gateway.Connections;

namespace Gateway.Hosting;

/// <summary>A connection whose handshake was accepted and answered with 101: what runs until it closes.</summary>
/// <param name="Connection">The connection.</param>
/// <param name="Transport">Its wire, disposed when the connection has closed.</param>
internal sealed record UpgradedConnection(GatewayConnection Connection, ClientTransport Transport)
{
    /// <summary>True when the socket resumed a waiting session: it was registered, subscribed and greeted long ago.</summary>
    public bool Resumed { get; init; }

    /// <summary>Why a resume this handshake asked for was refused (the client is told before its connected frame), or null.</summary>
    public string? ResumeRefused { get; init; }
}
