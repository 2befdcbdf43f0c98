namespace Gateway.Client;

/// <summary>A frame that answers no command and belongs to no subscription: a push, a user send, a broadcast, a server-side topic.</summary>
public sealed class GatewayMessageEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public GatewayMessageEventArgs(string? text, ReadOnlyMemory<byte> binary)
    {
        Text = text;
        Binary = binary;
    }

    /// <summary>The frame's text, or null for a binary frame.</summary>
    public string? Text { get; }

    /// <summary>The frame's bytes when it was binary.</summary>
    public ReadOnlyMemory<byte> Binary { get; }
}
