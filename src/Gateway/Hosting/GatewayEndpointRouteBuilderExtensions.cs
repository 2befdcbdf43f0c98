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
    /// Maps the client WebSocket endpoints (<c>/</c> and <c>/{Stage}</c>), the management API (<c>@connections</c>,
    /// with or without a stage prefix), and <c>/healthz</c> and <c>/readyz</c>, which answer on both listeners so
    /// that a load balancer can probe the client port (ASP.NET Core health checks; see <see cref="GatewayHealthChecks"/>).
    /// </summary>
    public static IEndpointConventionBuilder MapWebSocketGateway(this Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var gateway = services.GetRequiredService<GatewayEndpoint>();

        var group = endpoints.MapGroup("");
        group.MapGet("/", context => gateway.HandleAsync(context, stage: null));
        group.MapGet("/" + options.Stage, context => gateway.HandleAsync(context, options.Stage));
        var connectionsApi = services.GetRequiredService<ConnectionsApi>();

        // One catch-all for the management API, so that doubled slashes and any stage prefix reach it. Its
        // constraint admits management paths only, and it ranks after every route but a fallback (which ranks last
        // and would otherwise tie with it), so nothing else of the app is shadowed.
        group.Map("/{**path:" + ManagementPathConstraint.Name + "}", connectionsApi.HandleAsync).WithOrder(int.MaxValue - 1);
        string[] probe = [HttpMethods.Get, HttpMethods.Head];
        var health = new HealthEndpoints(services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>());
        group.MapMethods("/healthz", probe, health.LiveAsync);
        group.MapMethods("/readyz", probe, health.ReadyAsync);
        if (options.Management.Dashboard.Enabled)
        {
            // Only the dashboard's own paths ("/admin/" also matches "/admin", which is redirected to it): the rest of /admin stays the hosting application's (its routes, its fallback).
            var admin = services.GetRequiredService<AdminApi>();
            foreach (var path in (string[])["/", "/dashboard.js", "/dashboard.css", "/api/{**rest}"])
            {
                group.Map(AdminApi.Path + path, admin.HandleAsync);
            }
        }

        return group;
    }
}
