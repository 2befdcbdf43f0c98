namespace Gateway.Connections;

/// <summary>WebSocket close codes the gateway uses (RFC 6455 §7.4 and the IANA registry).</summary>
public static class CloseCodes
{
    /// <summary>Normal closure.</summary>
    public const int Normal = 1000;

    /// <summary>Going away: lifetime reached, idle, or the server is shutting down.</summary>
    public const int GoingAway = 1001;

    /// <summary>Protocol error.</summary>
    public const int ProtocolError = 1002;

    /// <summary>Unsupported data (binary frames rejected).</summary>
    public const int UnsupportedData = 1003;

    /// <summary>No status code was present in the client's close frame.</summary>
    public const int NoStatus = 1005;

    /// <summary>The connection was lost without a close frame.</summary>
    public const int Abnormal = 1006;

    /// <summary>Invalid payload data (invalid UTF-8 in a text message).</summary>
    public const int InvalidPayload = 1007;

    /// <summary>Policy violation (message cap reached, authorization).</summary>
    public const int PolicyViolation = 1008;

    /// <summary>Message too big.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>Internal error.</summary>
    public const int InternalError = 1011;

    /// <summary>Try again later: the connection was a slow consumer.</summary>
    public const int TryAgainLater = 1013;
}
