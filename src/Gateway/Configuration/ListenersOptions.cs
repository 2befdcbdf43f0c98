namespace Gateway.Configuration;

/// <summary>The listeners: clients, the management API, and an optional HTTP/2-only client listener.</summary>
public sealed class ListenersOptions
{
    /// <summary>The client WebSocket listener URL.</summary>
    public string Client { get; set; } = "http://0.0.0.0:8080";

    /// <summary>The management listener URL; empty or equal to <see cref="Client"/> shares the client listener.</summary>
    public string? Management { get; set; } = "http://127.0.0.1:8081";

    /// <summary>
    /// A second client listener that speaks HTTP/2 only, or empty for none: <c>http://</c> serves cleartext HTTP/2 (h2c,
    /// prior knowledge), which the web server offers only on an endpoint without HTTP/1.1. Clients open WebSockets on it
    /// as extended CONNECT streams (RFC 8441).
    /// </summary>
    public string? ClientHttp2 { get; set; }

    /// <summary>
    /// Whether a socket's reads and writes continue on the thread that completed them, instead of being handed to the
    /// thread pool at each step (true by default). A handler that blocks still holds only its own connection's thread.
    /// </summary>
    public bool InlineScheduling { get; set; } = true;
}
