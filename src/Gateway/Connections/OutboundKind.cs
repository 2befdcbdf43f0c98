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
}
