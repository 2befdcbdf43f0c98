using System.Net.WebSockets;

namespace Gateway.Client;

/// <summary>How a <see cref="GatewayClient"/> connects, reconnects and waits.</summary>
public sealed class GatewayClientOptions
{
    /// <summary>The gateway's client URL, <c>ws://host:8080/</c> or <c>wss://host/prod</c>.</summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// Called before every connect and reconnect, and before the in-band refresh: the JWT to present (sent as
    /// <c>Authorization: Bearer</c>), or null to connect without one.
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? TokenProvider { get; set; }

    /// <summary>How long before the token's <c>exp</c> a fresh one is fetched and sent with <c>refresh</c> (30 s); zero turns refresh off.</summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The delay before the first reconnect after a connection was lost; null draws it like the others.</summary>
    public TimeSpan? FirstRetryDelay { get; set; }

    /// <summary>The backoff's base (500 ms): attempt n waits a random time up to min(max, base × factor^n) ("full jitter").</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between attempts (30 s).</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How much the backoff's ceiling grows per failed attempt (2).</summary>
    public double ReconnectFactor { get; set; } = 2;

    /// <summary>How many messages wait while disconnected (1,000); one more throws <see cref="OutgoingQueueFullException"/>.</summary>
    public int OutgoingQueueLimit { get; set; } = 1000;

    /// <summary>How long a command waits for its answer (10 s) before it throws <see cref="TimeoutException"/>.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a new socket waits for its first frame (<c>connected</c>, <c>resumed</c>) before it is taken as connected without one (10 s).</summary>
    public TimeSpan ConnectedFrameTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether commands are named in <c>action</c> (the default) or <c>type</c>.</summary>
    public CommandNaming CommandNaming { get; set; } = CommandNaming.Action;

    /// <summary>How many events a subscription holds for its reader (1,000); past that, reading the socket waits for the reader.</summary>
    public int SubscriptionBufferSize { get; set; } = 1000;

    /// <summary>Whether to ask the gateway to resume the connection after a drop, when it offers resume tokens (true).</summary>
    public bool Resume { get; set; } = true;

    /// <summary>The clock for backoff, timeouts and refresh.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Draws a number in [0, 1) for the jitter; by default <see cref="Random.Shared"/>.</summary>
    public Func<double>? Jitter { get; set; }

    /// <summary>Sets options of each new socket (headers, subprotocols, a proxy, keep-alive).</summary>
    public Action<ClientWebSocketOptions>? ConfigureSocket { get; set; }

    internal void Validate()
    {
        if (Url is null || Url.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException("Url must be a ws:// or wss:// URL", nameof(Url));
        }

        if (ReconnectBaseDelay < TimeSpan.Zero || ReconnectMaxDelay < ReconnectBaseDelay || ReconnectFactor < 1)
        {
            throw new ArgumentException("the backoff needs 0 <= base <= max and a factor of at least 1");
        }

        if (OutgoingQueueLimit < 0 || SubscriptionBufferSize < 1 || CommandTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("OutgoingQueueLimit must be >= 0, SubscriptionBufferSize >= 1 and CommandTimeout positive");
        }
    }
}
