namespace Gateway.Connections;

/// <summary>What an <see cref="OutboundMessage"/> is.</summary>
public enum OutboundKind : byte
{
    /// <summary>A text data frame.</summary>
    Text,

    /// <summary>A binary data frame.</summary>
    Binary,

    /// <summary>A server ping (control frame).</summary>
    Ping,

    /// <summary>
    /// A text frame of the gateway's own about the session itself (<c>connected</c>, <c>resumed</c>): written as text,
    /// and not counted among the frames a resuming client says it received.
    /// </summary>
    Session,
}
