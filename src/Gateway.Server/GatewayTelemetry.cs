using Gateway.Diagnostics;
using OpenTelemetry.Metrics;
using Gateway.Connections;

namespace Gateway.Server;

/// <summary>
/// The gateway's metrics through OpenTelemetry: Prometheus text at <c>/metrics</c> on the management listener, and
/// OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>Gateway:Otlp:Endpoint</c>) is set.
/// </summary>
internal static class GatewayTelemetry
{
    public static IServiceCollection AddGatewayTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = configuration["Gateway:Otlp:Endpoint"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            // The runtime's own meter too: thread pool, lock contention, GC, for an operator (and the benchmarks) to see.
            metrics.AddMeter(GatewayMetrics.MeterName, "System.Runtime").AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            if (!string.IsNullOrWhiteSpace(otlp))
            {
                metrics.AddOtlpExporter(o => o.Endpoint = new Uri(otlp));
            }
        });
        return services;
    }

    /// <summary>Maps <c>/metrics</c>, answered on the management listener only.</summary>
    public static void MapGatewayMetrics(this WebApplication app)
    {
        var listeners = app.Services.GetRequiredService<GatewayListeners>();
        app.MapPrometheusScrapingEndpoint("/metrics").AddEndpointFilter(async (context, next) =>
            listeners.Accepts(context.HttpContext, GatewayListenerKind.Management) ? await next(context) : Results.NotFound());
    }
}
