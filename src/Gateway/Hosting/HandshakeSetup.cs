using Gateway.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

/// <summary>What every connection the handshake middleware takes needs, resolved on the first connection (the services exist by then).</summary>
internal sealed class HandshakeSetup
{
    private static readonly TimeSpan LongestTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public HandshakeSetup(IServiceProvider services)
    {
        Limits = services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
        Clients = services.GetRequiredService<ClientLifecycle>();
        Stage = services.GetRequiredService<IOptions<GatewayOptions>>().Value.Stage;
        Logger = services.GetRequiredService<ILogger<HandshakeConnectionMiddleware>>();
        HeadLimits = HandshakeRequestHead.HeadLimits.Within(Limits);

        // With Kestrel's own cap on upgraded connections, every upgrade goes through Kestrel, which counts them.
        PassEverything = Limits.MaxConcurrentUpgradedConnections is not null;
        Hosts = new AllowedHostsFilter(services.GetService<IOptions<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>>()?.Value.AllowedHosts ?? []);
    }

    public KestrelServerLimits Limits { get; }

    public ClientLifecycle Clients { get; }

    public string Stage { get; }

    public ILogger Logger { get; }

    public HandshakeRequestHead.HeadLimits HeadLimits { get; }

    public bool PassEverything { get; }

    public AllowedHostsFilter Hosts { get; }

    /// <summary>A Kestrel timeout as a timer's due time: anything past a timer's range (Kestrel's "infinite") never fires.</summary>
    public static TimeSpan Timer(TimeSpan timeout) => timeout >= LongestTimer || timeout < TimeSpan.Zero ? Timeout.InfiniteTimeSpan : timeout;
}
