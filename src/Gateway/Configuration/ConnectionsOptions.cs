namespace Gateway.Configuration;

/// <summary>Limits and behaviour of every client connection. Defaults follow Amazon API Gateway where it has one.</summary>
public sealed class ConnectionsOptions
{
    /// <summary>Send <c>{"type":"connected","connectionId":"..."}</c> as the first frame.</summary>
    public bool SendConnectedMessage { get; set; } = true;

    /// <summary>Largest message a client may send (all fragments together); larger closes with 1009.</summary>
    public int MaxMessageBytes { get; set; } = 128 * 1024;

    /// <summary>Close a connection when no data frame went either way for this long (1001). Zero turns it off.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Close a connection this long after it opened (1001). Zero turns it off.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How often the server pings each connection. Zero turns pings off.</summary>
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long after a ping the peer has to show it is alive before it is dropped (1006).</summary>
    public TimeSpan PongTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a close handshake may take before the socket is aborted.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Messages waiting to be written to one connection; one more closes it as a slow consumer (1013).</summary>
    public int SendQueueLimit { get; set; } = 1000;

    /// <summary>
    /// Bytes waiting to be written to one connection; a message that would go past it closes the connection as
    /// a slow consumer (1013), so that a client that stops reading cannot hold unbounded memory. One message
    /// always fits an empty queue.
    /// </summary>
    public long SendQueueByteLimit { get; set; } = 4 * 1024 * 1024;

    /// <summary>Connections this node accepts; the next handshake is answered 503.</summary>
    public int MaxConnections { get; set; } = 100_000;

    /// <summary>Messages one connection may send in its lifetime; the next closes it with 1008. Zero turns the cap off.</summary>
    public long MaxMessagesPerConnection { get; set; }

    /// <summary>
    /// Messages per second one connection may send (a token bucket of <see cref="MessageRateBurst"/> tokens, refilled on each sweep). Over it, a message is
    /// dropped and answered <c>{"message": "Too many requests", ...}</c>; the connection stays. Zero turns it off.
    /// </summary>
    public int MessageRateLimit { get; set; }

    /// <summary>Messages a connection may send at once before <see cref="MessageRateLimit"/> applies (defaults to the rate).</summary>
    public int MessageRateBurst { get; set; }

    /// <summary>Handshakes one source IP may make per minute; over it, the handshake is answered 429. Zero turns it off.</summary>
    public int HandshakeRateLimit { get; set; }

    /// <summary>What to do with binary frames from clients.</summary>
    public BinaryFrameHandling BinaryFrames { get; set; } = BinaryFrameHandling.Route;

    /// <summary>Proxies (addresses or CIDR ranges) whose <c>X-Forwarded-For</c> header is believed.</summary>
    public IList<string> TrustedProxies { get; } = [];

    /// <summary>
    /// Browser origins allowed to connect (<c>https://app.example.com</c>). Empty allows every origin. A handshake
    /// whose <c>Origin</c> is not listed is answered 403 before <c>$connect</c>; one without an <c>Origin</c> (not a
    /// browser) is not affected.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = [];

    /// <summary>How often idle, lifetime and ping deadlines are checked (one timer for all connections).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// On shutdown, how long clients (closed with 1001) and their <c>$disconnect</c> events may take before the process
    /// exits anyway.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a session whose socket dropped (without a close frame, or closed by the client with 4000–4099) waits for
    /// its client to resume it with the same connection id; zero (the default) turns resuming off. While it waits,
    /// <c>$disconnect</c> has not run and what is sent to it is kept.
    /// </summary>
    public TimeSpan ResumeWindow { get; set; }

    /// <summary>
    /// The most bytes a resumable session keeps: of the frames it wrote that the client may not have received, and,
    /// separately, of the frames sent to it while it waits. A waiting session over it ends (with <c>$disconnect</c>).
    /// </summary>
    public long ResumeBufferBytes { get; set; } = 256 * 1024;

    /// <summary>The most messages a resumable session keeps, counted as <see cref="ResumeBufferBytes"/> is.</summary>
    public int ResumeBufferMessages { get; set; } = 1000;

    /// <summary>
    /// The keys resume tokens are signed with, newest first: tokens are signed with the first and accepted when any of
    /// them verifies, so a key is rotated by putting the new one first and removing the old one after a window. Every
    /// node must have the same list. Each is at least 32 characters. Empty: a key made at start, for this process only.
    /// </summary>
    public IList<string> ResumeSigningKeys { get; } = [];

    /// <summary>
    /// permessage-deflate (RFC 7692): <c>Off</c> (the default) or <c>On</c>, set as the value of
    /// <c>Gateway:Connections:Compression</c> itself or as <c>Compression:Mode</c>, with its parameters beside it.
    /// </summary>
    public CompressionOptions Compression { get; } = new();
}
