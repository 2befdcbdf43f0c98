namespace Gateway.Nats;

/// <summary>When the connection to NATS uses TLS.</summary>
public enum NatsTlsMode
{
    /// <summary>When the server asks for it, or the URL's scheme is <c>tls://</c>.</summary>
    Auto,

    /// <summary>Always, after the server's greeting; a server without TLS is refused.</summary>
    Require,

    /// <summary>Always, from the first byte (servers behind a TLS-terminating proxy, or with <c>handshake_first</c>).</summary>
    Implicit,

    /// <summary>Never.</summary>
    Disable,
}
