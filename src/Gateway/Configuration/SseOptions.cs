namespace Gateway.Configuration;

/// <summary>
/// The Server-Sent Events fallback (<c>Gateway:Sse</c>): a client that cannot open a WebSocket reads its frames as an
/// event stream from <c>GET /sse</c> (or <c>/{Stage}/sse</c>) and sends its messages with <c>POST</c>s.
/// </summary>
public sealed class SseOptions
{
    /// <summary>True (the default) to serve the fallback: a client behind a proxy that refuses WebSockets then still connects.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often a stream with nothing else to write gets a comment line, so that proxies do not close it as idle.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Browser origins that may open the stream and post from another origin (CORS), matched as
    /// <c>Connections:AllowedOrigins</c> matches the WebSocket handshake's (scheme, host and port; case-insensitive; a
    /// trailing slash ignored). Empty: same-origin pages and clients that send no <c>Origin</c> only.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = [];
}
