using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Registration lives in the DI namespace so that AddRedisBackplane() is found where AddX() calls are.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Scale-out on Redis.</summary>
public static class RedisGatewayBuilderExtensions
{
    /// <summary>Replaces the single-node backplane with a <see cref="ClusterBackplane"/> on Redis, bound to <paramref name="configuration"/> (the <c>Gateway:Redis</c> section).</summary>
    public static IGatewayBuilder AddRedisBackplane(this IGatewayBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RedisOptions>().BindReportingValueErrors(configuration).Validate(o => !string.IsNullOrWhiteSpace(o.Configuration), "Gateway:Redis:Configuration is required.").ValidateOnStart();
        return AddCore(builder);
    }

    /// <summary>Replaces the single-node backplane with a <see cref="ClusterBackplane"/> on Redis, configured in code.</summary>
    public static IGatewayBuilder AddRedisBackplane(this IGatewayBuilder builder, Action<RedisOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<RedisOptions>().Configure(configure).Validate(o => !string.IsNullOrWhiteSpace(o.Configuration), "Gateway:Redis:Configuration is required.").ValidateOnStart();
        return AddCore(builder);
    }

    private static IGatewayBuilder AddCore(IGatewayBuilder builder)
    {
        builder.Services.TryAddSingleton<RedisBackplaneTransport>();
        builder.Services.AddClusterBackplane(
            sp => sp.GetRequiredService<RedisBackplaneTransport>(),
            sp =>
            {
                var o = sp.GetRequiredService<IOptions<RedisOptions>>().Value;
                return new ClusterBackplaneOptions { HeartbeatInterval = o.HeartbeatInterval, NodeTtl = o.NodeTtl, RequestTimeout = o.RequestTimeout };
            },
            // Redis's key TTLs run on the wall clock: the heartbeats and deadlines measured against them must too.
            _ => TimeProvider.System);
        return builder;
    }
}
