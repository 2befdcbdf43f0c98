using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Hosting;
using Gateway.Integrations;
using Gateway.Management;
using Gateway.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Registration lives in the DI namespace so that AddWebSocketGateway() is found where AddX() calls are.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the WebSocket gateway's services.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway, bound to <paramref name="configuration"/> (the <c>Gateway</c> section) when given.
    /// Calling it again adds nothing twice, so hosts and tests can each add routes.
    /// </summary>
    public static IGatewayBuilder AddWebSocketGateway(this IServiceCollection services, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GatewayOptions>();
        if (configuration is not null)
        {
            options.Bind(configuration);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GatewayNode>();
        services.TryAddSingleton<GatewayListeners>();
        services.TryAddSingleton<ConnectionServices>();
        services.TryAddSingleton<ConnectionRegistry>();
        services.TryAddSingleton<IBackplane, InMemoryBackplane>();
        services.TryAddSingleton<ConnectionSender>();
        services.TryAddSingleton<RouteTable>();
        services.TryAddSingleton<MessageDispatcher>();
        services.TryAddSingleton<GatewayEndpoint>();
        services.TryAddSingleton<ManagementAccess>();
        services.TryAddSingleton<IntegrationEndpoint>();
        services.TryAddSingleton<ConnectionsApi>();
        services.Configure<Microsoft.AspNetCore.Routing.RouteOptions>(o => o.SetParameterPolicy<ManagementPathConstraint>(ManagementPathConstraint.Name));
        if (!services.Any(d => d.ServiceType == typeof(ConnectionSweeper)))
        {
            services.AddSingleton<ConnectionSweeper>();
            services.AddHostedService(sp => sp.GetRequiredService<ConnectionSweeper>());
            services.AddHostedService<ConnectionDrain>();
            services.AddHttpClient(HttpIntegration.ClientName)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
                {
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                    MaxConnectionsPerServer = 256,
                })
                .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan);
        }
        return new GatewayBuilder(services);
    }
}
