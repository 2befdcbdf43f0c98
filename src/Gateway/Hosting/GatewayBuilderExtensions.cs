using Gateway.Backplane;
using Gateway.Hosting;
using Gateway.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;

// Beside AddWebSocketGateway(), so the builder's methods need no extra using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds routes, named handlers and a backplane to a gateway.</summary>
public static class GatewayBuilderExtensions
{
    /// <summary>Maps <paramref name="routeKey"/> to a handler class; wins over a route of the same key in configuration.</summary>
    public static IGatewayBuilder MapRoute<THandler>(this IGatewayBuilder builder, string routeKey)
        where THandler : class, IGatewayRouteHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(routeKey);
        builder.Services.TryAddSingleton<THandler>();
        builder.Services.AddSingleton(new RouteRegistration(routeKey, typeof(THandler)));
        return builder;
    }

    /// <summary>Lets configuration name a handler class: <c>"Handler": "<paramref name="name"/>"</c>.</summary>
    public static IGatewayBuilder AddRouteHandler<THandler>(this IGatewayBuilder builder, string name)
        where THandler : class, IGatewayRouteHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        builder.Services.TryAddSingleton<THandler>();
        builder.Services.AddSingleton(new NamedHandlerRegistration(name, typeof(THandler)));
        return builder;
    }

    /// <summary>Replaces the single-node backplane.</summary>
    public static IGatewayBuilder UseBackplane<TBackplane>(this IGatewayBuilder builder)
        where TBackplane : class, IBackplane
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IBackplane, TBackplane>());
        return builder;
    }
}
