using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Registration lives in the DI namespace so that AddNodeLink() is found where AddX() calls are.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The direct link between the nodes of a cluster.</summary>
public static class NodeLinkGatewayBuilderExtensions
{
    /// <summary>
    /// Adds the direct link between nodes, bound to <paramref name="configuration"/> (the <c>Gateway:Cluster:Link</c>
    /// section): with its <c>Listen</c> set, the cluster backplane (Redis, NATS) carries directed calls and their
    /// answers on it; unset, it stays off.
    /// </summary>
    public static IGatewayBuilder AddNodeLink(this IGatewayBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<NodeLinkOptions>().BindReportingValueErrors(configuration).ValidateOnStart();
        return AddCore(builder);
    }

    /// <summary>Adds the direct link between nodes, configured in code.</summary>
    public static IGatewayBuilder AddNodeLink(this IGatewayBuilder builder, Action<NodeLinkOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<NodeLinkOptions>().Configure(configure).ValidateOnStart();
        return AddCore(builder);
    }

    private static IGatewayBuilder AddCore(IGatewayBuilder builder)
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NodeLinkOptions>, NodeLinkOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new NodeLink(
            sp.GetRequiredService<IOptions<NodeLinkOptions>>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<NodeLink>>(),
            sp.GetService<Gateway.Diagnostics.GatewayMetrics>()));
        return builder;
    }
}
