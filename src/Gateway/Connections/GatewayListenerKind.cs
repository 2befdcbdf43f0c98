namespace Gateway.Connections;

/// <summary>Which of the gateway's listeners a request arrived on.</summary>
[Flags]
public enum GatewayListenerKind
{
    /// <summary>Not a gateway listener.</summary>
    None = 0,

    /// <summary>The client (WebSocket) listener.</summary>
    Client = 1,

    /// <summary>The management listener.</summary>
    Management = 2,

    /// <summary>With <see cref="Client"/>: a client listener that speaks HTTP/2 only (cleartext h2c, or TLS without HTTP/1.1).</summary>
    Http2Only = 4,
}
