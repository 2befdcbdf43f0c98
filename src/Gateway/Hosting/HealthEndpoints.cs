using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Hosting;

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c> over ASP.NET Core's <see cref="HealthCheckService"/>: 200 while every check
/// that counts is healthy or degraded, else 503. The body is a word (<c>Healthy</c>, <c>Ready</c>, or why not), or
/// with <c>Accept: application/json</c> each check's status and description.
/// </summary>
internal sealed class HealthEndpoints(HealthCheckService health)
{
    /// <summary>Liveness: the checks tagged <c>live</c> (the gateway has none; answering is being alive).</summary>
    public async Task LiveAsync(HttpContext context)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(GatewayHealthChecks.LiveTag), context.RequestAborted);
        var failed = FirstFailure(report, ignoreBackplane: false);
        await WriteAsync(context, report, failed, failed is null ? "Healthy" : Describe(failed.Value));
    }

    /// <summary>
    /// Readiness: the checks tagged <c>ready</c>. <c>?scope=local</c> leaves out those about the backplane, so a load
    /// balancer keeps sending a node its own traffic through a Redis outage, which the node serves, instead of taking
    /// every node out at once.
    /// </summary>
    public async Task ReadyAsync(HttpContext context)
    {
        var local = context.Request.Query["scope"] == "local";
        var report = await health.CheckHealthAsync(r => r.Tags.Contains(GatewayHealthChecks.ReadyTag), context.RequestAborted);
        var failed = FirstFailure(report, ignoreBackplane: local);
        var backplaneDown = report.Entries.Any(e => e.Value.Status == HealthStatus.Unhealthy && e.Value.Tags.Contains(GatewayHealthChecks.BackplaneTag));
        var text = failed is { } f ? Describe(f) : backplaneDown ? "Ready (backplane unavailable)" : "Ready";
        await WriteAsync(context, report, failed, text);
    }

    /// <summary>
    /// What a probe says of a failed check: the description the check chose, or only its name when it threw (an
    /// exception's message can carry anything, and the probes answer anyone on the client listener).
    /// </summary>
    private static string Describe(KeyValuePair<string, HealthReportEntry> entry) =>
        entry.Value.Exception is null && entry.Value.Description is { Length: > 0 } description ? description : entry.Key + " failed";

    private static KeyValuePair<string, HealthReportEntry>? FirstFailure(HealthReport report, bool ignoreBackplane)
    {
        // Shutting down says more than anything else that is wrong at the same time.
        KeyValuePair<string, HealthReportEntry>? failed = null;
        foreach (var entry in report.Entries)
        {
            if (entry.Value.Status != HealthStatus.Unhealthy || (ignoreBackplane && entry.Value.Tags.Contains(GatewayHealthChecks.BackplaneTag)))
            {
                continue;
            }

            if (failed is null || entry.Key == GatewayHealthChecks.Draining)
            {
                failed = entry;
            }
        }

        return failed;
    }

    private static async Task WriteAsync(HttpContext context, HealthReport report, KeyValuePair<string, HealthReportEntry>? failed, string text)
    {
        var response = context.Response;
        response.StatusCode = failed is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        response.Headers.CacheControl = "no-store";
        if (!context.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.OrdinalIgnoreCase))
        {
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync(text, context.RequestAborted);
            return;
        }

        response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        json.WriteString("status", failed is null ? "Healthy" : "Unhealthy");
        json.WriteString("description", text);
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Status != HealthStatus.Healthy)
            {
                json.WriteString("description", Describe(new(name, entry)));
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
