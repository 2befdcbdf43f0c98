using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;

// Registration lives in the DI namespace so that AddRedisBackplane() is found where AddX() calls are.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Scale-out on Redis.</summary>
public static class RedisGatewayBuilderExtensions
{
    /// <summary>Replaces the single-node backplane with <see cref="RedisBackplane"/>, bound to <paramref name="configuration"/> (the <c>Gateway:Redis</c> section).</summary>
    public static IGatewayBuilder AddRedisBackplane(this IGatewayBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RedisOptions>().BindReportingValueErrors(configuration).Validate(o => !string.IsNullOrWhiteSpace(o.Configuration), "Gateway:Redis:Configuration is required.").ValidateOnStart();
        return AddCore(builder);
    }

    /// <summary>Replaces the single-node backplane with <see cref="RedisBackplane"/>, configured in code.</summary>
    public static IGatewayBuilder AddRedisBackplane(this IGatewayBuilder builder, Action<RedisOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<RedisOptions>().Configure(configure).Validate(o => !string.IsNullOrWhiteSpace(o.Configuration), "Gateway:Redis:Configuration is required.").ValidateOnStart();
        return AddCore(builder);
    }

    private static IGatewayBuilder AddCore(IGatewayBuilder builder)
    {
        builder.Services.TryAddSingleton<RedisBackplane>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IBackplane>(sp => sp.GetRequiredService<RedisBackplane>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisBackplane>());
        return builder;
    }
}
