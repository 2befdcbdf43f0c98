using Gateway.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Connections;

/// <summary>What every connection of this node shares: limits, the clock and the logger.</summary>
public sealed class ConnectionServices
{
    /// <summary>Creates the shared services from the gateway options.</summary>
    public ConnectionServices(IOptions<GatewayOptions> options, TimeProvider time, ILogger<GatewayConnection> logger, Diagnostics.GatewayMetrics? metrics = null)
    {
        Metrics = metrics;
        var o = options.Value.Connections;
        Options = o;
        Time = time;
        Logger = logger;
        IdleTicks = o.IdleTimeout.Ticks;
        LifetimeTicks = o.MaxLifetime.Ticks;
        PingTicks = o.PingInterval.Ticks;
        PongTicks = o.PongTimeout.Ticks;
        CloseTicks = o.CloseTimeout.Ticks;
    }

    /// <summary>The connection limits.</summary>
    public ConnectionsOptions Options { get; }

    /// <summary>The clock every deadline is measured on.</summary>
    public TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal Diagnostics.GatewayMetrics? Metrics { get; }
    internal long IdleTicks { get; }
    internal long LifetimeTicks { get; }
    internal long PingTicks { get; }
    internal long PongTicks { get; }
    internal long CloseTicks { get; }

    internal long NowTicks => Time.GetUtcNow().UtcTicks;
}
