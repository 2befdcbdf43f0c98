namespace Gateway.Connections;

/// <summary>One item of a connection's send queue.</summary>
/// <param name="Payload">The bytes to send; never modified after enqueueing (fan-outs share one buffer).</param>
/// <param name="Kind">Text, binary, or a server ping.</param>
public readonly record struct OutboundMessage(ReadOnlyMemory<byte> Payload, OutboundKind Kind)
{
    /// <summary>A text frame.</summary>
    public static OutboundMessage Text(ReadOnlyMemory<byte> utf8) => new(utf8, OutboundKind.Text);

    /// <summary>A binary frame.</summary>
    public static OutboundMessage Binary(ReadOnlyMemory<byte> bytes) => new(bytes, OutboundKind.Binary);
}
