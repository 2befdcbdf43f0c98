using Gateway.Configuration;
using Microsoft.Extensions.Logging;

namespace Gateway.Connections;

/// <summary>
/// What every connection of this node shares: limits, the clock, the logger and the metrics. The limits are the configuration's
/// current ones, read where each is applied, so that a reload reaches open connections too: the message size, message cap,
/// binary handling and message rate from their next message, the idle, lifetime, ping and close deadlines from the next
/// sweep. Only the send queue's length is fixed when a connection opens.
/// </summary>
public sealed class ConnectionRuntime
{
    private readonly GatewayConfiguration _configuration;

    /// <summary>Creates the runtime from the gateway's configuration.</summary>
    public ConnectionRuntime(GatewayConfiguration configuration, TimeProvider time, ILogger<GatewayConnection> logger, Diagnostics.GatewayMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _configuration = configuration;
        Metrics = metrics;
        Time = time;
        Logger = logger;
    }

    /// <summary>The connection limits now.</summary>
    public ConnectionsOptions Options => _configuration.Current.Connections;

    /// <summary>The clock every deadline is measured on.</summary>
    public TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal Diagnostics.GatewayMetrics? Metrics { get; }
    internal long IdleTicks => Options.IdleTimeout.Ticks;
    internal long LifetimeTicks => Options.MaxLifetime.Ticks;
    internal long PingTicks => Options.PingInterval.Ticks;
    internal long PongTicks => Options.PongTimeout.Ticks;
    internal long CloseTicks => Options.CloseTimeout.Ticks;

    internal long NowTicks => Time.GetUtcNow().UtcTicks;
}
