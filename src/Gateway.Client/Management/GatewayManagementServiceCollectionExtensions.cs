using Gateway.Client.Management;

// In the framework's namespace, so that AddGatewayManagementClient() is found without a using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="GatewayManagementClient"/> on <c>IHttpClientFactory</c>.</summary>
public static class GatewayManagementServiceCollectionExtensions
{
    /// <summary>The name of the HttpClient the management client is made with.</summary>
    public const string HttpClientName = "Gateway.Management";

    /// <summary>
    /// Adds a transient <see cref="GatewayManagementClient"/> whose HttpClient comes from the factory (pooled handlers);
    /// the returned builder configures that HttpClient further (handlers, timeouts).
    /// </summary>
    public static IHttpClientBuilder AddGatewayManagementClient(this IServiceCollection services, Action<GatewayManagementClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new GatewayManagementClientOptions();
        configure(options);
        if (options.Endpoint is null)
        {
            throw new ArgumentException("the management client needs an Endpoint", nameof(configure));
        }

        services.AddTransient(sp => new GatewayManagementClient(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName), options));
        return services.AddHttpClient(HttpClientName);
    }
}
