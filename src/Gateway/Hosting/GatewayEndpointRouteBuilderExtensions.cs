using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Management;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

// Mapping lives in the routing namespace so that MapWebSocketGateway() is found where MapX() calls are.
namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the gateway's endpoints.</summary>
public static class GatewayEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the client WebSocket endpoints (<c>/</c> and <c>/{Stage}</c>), the Server-Sent Events fallback (<c>/sse</c>,
    /// <c>/{Stage}/sse</c> and each connection's send URL below them), the management API (<c>@connections</c>, <c>@topics</c>,
    /// <c>@users</c>, <c>@broadcast</c>, with or without a stage prefix), the dashboard, and <c>/healthz</c> and <c>/readyz</c>, which answer on both listeners so
    /// that a load balancer can probe the client port (ASP.NET Core health checks; see <see cref="GatewayHealthChecks"/>).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = "The endpoint without methods ranks after the GET/CONNECT one (routing prefers endpoints with HTTP method metadata), so it takes only the other methods.")]
    public static IEndpointConventionBuilder MapWebSocketGateway(this Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var gateway = services.GetRequiredService<ClientLifecycle>();

        var group = endpoints.MapGroup("");
        foreach (var (path, stage) in new[] { ("/", (string?)null), ("/" + options.Stage, options.Stage) })
        {
            // A GET upgrades over HTTP/1.1; over HTTP/2 a WebSocket opens as an extended CONNECT stream (RFC 8441).
            group.MapMethods(path, [HttpMethods.Get, HttpMethods.Connect], context => gateway.HandleAsync(context, stage));

            // Only a GET or CONNECT can be a handshake: any other method finds nothing here (404), rather than routing's
            // 405, which would tell of a resource that takes other methods.
            group.Map(path, () => TypedResults.NotFound());
        }

        var sse = services.GetRequiredService<SseEndpoints>();
        foreach (var (prefix, stage) in new[] { ("", (string?)null), ("/" + options.Stage, options.Stage) })
        {
            var stream = $"{prefix}/{SseOptionsValidator.PathSegment}";
            group.MapGet(stream, context => sse.StreamAsync(context, stage));
            group.MapMethods(stream, [HttpMethods.Options], context => { sse.Preflight(context); return Task.CompletedTask; });
            var send = stream + "/{connectionId}";
            group.MapPost(send, (HttpContext context, string connectionId) => sse.PostAsync(context, connectionId));
            group.MapDelete(send, (HttpContext context, string connectionId) => sse.DeleteAsync(context, connectionId));
            group.MapMethods(send, [HttpMethods.Options], context => { sse.Preflight(context); return Task.CompletedTask; });
        }

        group.MapManagementEndpoints();
        string[] probe = [HttpMethods.Get, HttpMethods.Head];
        var health = new HealthEndpoints(services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>());
        group.MapMethods("/healthz", probe, health.LiveAsync);
        group.MapMethods("/readyz", probe, health.ReadyAsync);
        if (options.Management.Dashboard.Enabled)
        {
            group.MapAdminEndpoints();
        }

        return group;
    }
}
