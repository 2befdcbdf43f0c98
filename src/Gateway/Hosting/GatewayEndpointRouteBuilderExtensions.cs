using Gateway.Configuration;
using Gateway.Connections;
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
    /// that a load balancer can probe the client port.
    /// </summary>
    public static IEndpointConventionBuilder MapWebSocketGateway(this Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var options = services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var gateway = services.GetRequiredService<GatewayEndpoint>();
        var registry = services.GetRequiredService<ConnectionRegistry>();

        var group = endpoints.MapGroup("");
        group.MapGet("/", context => gateway.HandleAsync(context, stage: null));
        group.MapGet("/" + options.Stage, context => gateway.HandleAsync(context, options.Stage));
        var connectionsApi = services.GetRequiredService<ConnectionsApi>();

        // One catch-all for the management API, so that doubled slashes and any stage prefix reach it. Its
        // constraint admits management paths only, and it ranks after every route but a fallback (which ranks last
        // and would otherwise tie with it), so nothing else of the app is shadowed.
        group.Map("/{**path:" + ManagementPathConstraint.Name + "}", connectionsApi.HandleAsync).WithOrder(int.MaxValue - 1);
        string[] probe = [HttpMethods.Get, HttpMethods.Head];
        group.MapMethods("/healthz", probe, () => Results.Text("Healthy"));
        var backplane = services.GetRequiredService<Gateway.Backplane.IBackplane>();
        // ?scope=local leaves the backplane out: a load balancer keeps sending a node its own traffic through a Redis
        // outage, which the node serves, instead of taking every node out at once.
        group.MapMethods("/readyz", probe, (HttpContext context) => registry.IsDraining
            ? Results.Text("Draining", statusCode: StatusCodes.Status503ServiceUnavailable)
            : !backplane.IsAvailable && context.Request.Query["scope"] != "local"
                ? Results.Text("Backplane unavailable", statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Text(backplane.IsAvailable ? "Ready" : "Ready (backplane unavailable)"));
        return group;
    }
}
