using Gateway.Connections;

namespace Gateway.Auth;

/// <summary>What client authentication decided about a handshake.</summary>
public sealed record AuthOutcome
{
    /// <summary>0 when accepted; otherwise the HTTP status the handshake is answered with.</summary>
    public int Status { get; init; }

    /// <summary>Why it was refused (for the log; never a credential).</summary>
    public string Reason { get; init; } = "";

    /// <summary>The authenticated identity, or null for an anonymous client.</summary>
    public ConnectionIdentity? Identity { get; init; }

    /// <summary>True when the handshake is upgraded and the shared secret is expected as the first message.</summary>
    public bool AwaitFirstMessage { get; init; }

    /// <summary>The subprotocol to answer with (the marker a browser offered its token behind), or null.</summary>
    public string? SubProtocol { get; init; }

    /// <summary>The token taken from the offered subprotocols (never answered with), or null.</summary>
    public string? SubProtocolToken { get; init; }

    /// <summary>True when the handshake may go on.</summary>
    public bool IsAccepted => Status == 0;

    /// <summary>An anonymous client (authentication off, or optional and no credentials sent).</summary>
    public static AuthOutcome Anonymous { get; } = new();

    /// <summary>An authenticated client.</summary>
    public static AuthOutcome Accept(ConnectionIdentity identity) => new() { Identity = identity };

    /// <summary>A refused handshake.</summary>
    public static AuthOutcome Reject(int status, string reason) => new() { Status = status, Reason = reason };
}
