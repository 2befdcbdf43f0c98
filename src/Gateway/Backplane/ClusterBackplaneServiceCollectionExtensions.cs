using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Backplane;

/// <summary>Registration of <see cref="ClusterBackplane"/> over an adapter's transport.</summary>
public static class ClusterBackplaneServiceCollectionExtensions
{
    /// <summary>
    /// Replaces the single-node backplane with <see cref="ClusterBackplane"/> over <paramref name="transport"/>, run as
    /// a hosted service. <paramref name="clock"/> runs its heartbeats and deadlines (default: the registered
    /// <see cref="TimeProvider"/>); a store whose TTLs run on the wall clock passes <see cref="TimeProvider.System"/>.
    /// </summary>
    public static IServiceCollection AddClusterBackplane(
        this IServiceCollection services,
        Func<IServiceProvider, IBackplaneTransport> transport,
        Func<IServiceProvider, ClusterBackplaneOptions> options,
        Func<IServiceProvider, TimeProvider>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(sp => new ClusterBackplane(
            WithLink(sp, transport(sp)),
            options(sp),
            sp.GetRequiredService<Connections.GatewayNode>(),
            sp.GetRequiredService<Connections.ConnectionRegistry>(),
            sp.GetRequiredService<ILocalTopicDelivery>(),
            clock?.Invoke(sp) ?? sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ClusterBackplane>>(),
            sp.GetServices<IClusterQueryHandler>(),
            sp.GetService<Diagnostics.GatewayMetrics>(),
            () => sp.GetService<ILocalTopicSubscriptions>(),
            () => sp.GetService<ILocalSessions>()));
        services.Replace(ServiceDescriptor.Singleton<IBackplane>(sp => sp.GetRequiredService<ClusterBackplane>()));
        services.AddHostedService(sp => sp.GetRequiredService<ClusterBackplane>());
        return services;
    }

    // With Gateway:Cluster:Link configured (AddNodeLink), directed calls go on the direct link when they can.
    private static IBackplaneTransport WithLink(IServiceProvider sp, IBackplaneTransport engine) =>
        sp.GetService<NodeLink>() is { Enabled: true } link ? new LinkedBackplaneTransport(engine, link) : engine;
}
