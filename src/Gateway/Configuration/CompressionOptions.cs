using Microsoft.Extensions.Configuration;

namespace Gateway.Configuration;

/// <summary>Whether WebSocket messages may be compressed.</summary>
public enum WebSocketCompression
{
    /// <summary>Offers of permessage-deflate are declined: every message goes as it is.</summary>
    Off,

    /// <summary>A client that offers permessage-deflate gets it.</summary>
    On,
}

/// <summary>
/// permessage-deflate (RFC 7692), negotiated with the clients that offer it. The mode is the value of
/// <c>Gateway:Connections:Compression</c> itself (<c>Gateway__Connections__Compression=On</c>) or, in a JSON file where a key
/// cannot have both a value and children, <c>Compression:Mode</c>; the parameters sit under the same key. A reload applies
/// to connections opened after it.
/// </summary>
public sealed class CompressionOptions
{
    /// <summary>Off (the default) or On.</summary>
    public WebSocketCompression Mode { get; set; }

    /// <summary>Messages of fewer bytes go uncompressed (compressing them would cost more than it saves).</summary>
    public int MinMessageBytes { get; set; } = 256;

    /// <summary>The largest window (2^bits bytes) the gateway compresses with, 9–15; a client may ask for less.</summary>
    public int ServerMaxWindowBits { get; set; } = 15;

    /// <summary>The largest window the gateway lets a client compress with, 8–15 (asked of clients that say they can limit it).</summary>
    public int ClientMaxWindowBits { get; set; } = 15;

    /// <summary>
    /// The gateway compresses each message on its own (true, the default): no compressor is kept per connection, and a
    /// message sent to many connections is compressed once for all of them.
    /// </summary>
    public bool ServerNoContextTakeover { get; set; } = true;

    /// <summary>Clients compress each message on its own (true, the default): no decompressor is kept per connection.</summary>
    public bool ClientNoContextTakeover { get; set; } = true;

    /// <summary>A value of <c>Gateway:Connections:Compression</c> that is neither Off nor On (reported with every other configuration error).</summary>
    public string? ModeError { get; private set; }

    /// <summary>Reads the mode from the value of <paramref name="section"/> itself, which the binder leaves out (it binds only the children).</summary>
    public void BindMode(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        ModeError = null;
        if (section.Value is not { } value || string.IsNullOrWhiteSpace(value))
        {
            return;
        }

        if (Enum.TryParse<WebSocketCompression>(value.Trim(), ignoreCase: true, out var mode) && Enum.IsDefined(mode) && !int.TryParse(value, out _))
        {
            Mode = mode;
        }
        else
        {
            ModeError = $"{section.Path}: '{value}' is not one of Off, On.";
        }
    }
}
