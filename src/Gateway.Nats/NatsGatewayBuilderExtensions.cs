using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Nats;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// Registration lives in the DI namespace so that AddNatsBackplane() is found where AddX() calls are.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Scale-out, and the event bus, on NATS.</summary>
public static class NatsGatewayBuilderExtensions
{
    /// <summary>Replaces the single-node backplane with a <see cref="ClusterBackplane"/> on NATS, bound to <paramref name="configuration"/> (the <c>Gateway:Nats</c> section).</summary>
    public static IGatewayBuilder AddNatsBackplane(this IGatewayBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<NatsOptions>().BindReportingValueErrors(configuration).ValidateOnStart();
        return AddCore(builder);
    }

    /// <summary>Replaces the single-node backplane with a <see cref="ClusterBackplane"/> on NATS, configured in code.</summary>
    public static IGatewayBuilder AddNatsBackplane(this IGatewayBuilder builder, Action<NatsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<NatsOptions>().Configure(configure).ValidateOnStart();
        return AddCore(builder);
    }

    private static IGatewayBuilder AddCore(IGatewayBuilder builder)
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NatsOptions>, NatsOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new NatsBackplaneTransport(
            sp.GetRequiredService<IOptions<NatsOptions>>(),
            sp.GetRequiredService<IOptions<GatewayOptions>>(),
            TimeProvider.System,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<NatsBackplaneTransport>>()));
        builder.Services.AddClusterBackplane(
            sp => sp.GetRequiredService<NatsBackplaneTransport>(),
            sp =>
            {
                var o = sp.GetRequiredService<IOptions<NatsOptions>>().Value;
                return new ClusterBackplaneOptions { HeartbeatInterval = o.HeartbeatInterval, NodeTtl = o.NodeTtl, RequestTimeout = o.RequestTimeout };
            },
            // JetStream's ages run on the wall clock: the heartbeats and deadlines measured against them must too.
            _ => TimeProvider.System);
        return builder;
    }
}
