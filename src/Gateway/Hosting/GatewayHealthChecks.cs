using Gateway.Backplane;
using Gateway.Connections;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Hosting;

/// <summary>
/// The gateway's health checks, registered with ASP.NET Core's health checks under the tag <see cref="ReadyTag"/>:
/// <c>/readyz</c> runs every check so tagged (an application hosting the gateway can add its own), <c>/healthz</c>
/// those tagged <see cref="LiveTag"/> (none of the gateway's: a node that answers is alive).
/// </summary>
public static class GatewayHealthChecks
{
    /// <summary>Checks that decide readiness (<c>/readyz</c>).</summary>
    public const string ReadyTag = "ready";

    /// <summary>Checks that decide liveness (<c>/healthz</c>).</summary>
    public const string LiveTag = "live";

    /// <summary>Checks that <c>/readyz?scope=local</c> leaves out: they concern other nodes, not this one.</summary>
    public const string BackplaneTag = "backplane";

    /// <summary>The check's name for shutdown.</summary>
    public const string Draining = "draining";

    /// <summary>The check's name for the backplane (Redis).</summary>
    public const string Backplane = "backplane";

    /// <summary>Unhealthy once the node has begun to shut down: it takes no new handshakes.</summary>
    internal sealed class DrainCheck(ConnectionRegistry registry) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(registry.IsDraining ? HealthCheckResult.Unhealthy("Draining") : HealthCheckResult.Healthy());
    }

    /// <summary>Unhealthy while the backplane cannot reach the other nodes (Redis down or not yet reconnected).</summary>
    internal sealed class BackplaneCheck(IBackplane backplane) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(backplane.IsAvailable ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Backplane unavailable"));
    }
}
