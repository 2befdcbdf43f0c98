using System.Buffers;
using Gateway.Configuration;
using Gateway.Routing.Handlers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Routing;

/// <summary>Route key → handler, built once at start from configuration and code registrations.</summary>
public sealed class RouteTable
{
    /// <summary>Names of the handlers every gateway has.</summary>
    public static readonly IReadOnlyCollection<string> BuiltInHandlers = ["echo", "mock", "broadcast"];

    private readonly Dictionary<string, GatewayRoute> _messageRoutes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GatewayRoute>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>Builds the table. Configuration has been validated by then, so every name resolves.</summary>
    public RouteTable(
        IOptions<GatewayOptions> options,
        IEnumerable<RouteRegistration> registrations,
        IEnumerable<NamedHandlerRegistration> namedHandlers,
        IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (!RouteSelector.TryParse(o.RouteSelectionExpression, out var selector, out var error))
        {
            throw new OptionsValidationException(GatewayOptions.SectionName, typeof(GatewayOptions), [error!]);
        }

        Selector = selector!;
        var named = namedHandlers.GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().HandlerType, StringComparer.Ordinal);
        var all = new Dictionary<string, GatewayRoute>(StringComparer.Ordinal);
        foreach (var (section, route) in o.Routes)
        {
            var key = RouteKeys.FromConfiguration(section, route.RouteKey);
            all[key] = FromConfiguration(key, route, named, services);
        }

        foreach (var registration in registrations)
        {
            var handler = (IGatewayRouteHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, registration.HandlerType);
            all[registration.RouteKey] = new GatewayRoute(registration.RouteKey, handler, registration.HandlerType.Name);
        }

        // The token refresh command is built in while JWTs are configured, unless a route of that key exists.
        if (o.Auth.Jwt.Enabled && o.Auth.Jwt.RefreshRoute is { Length: > 0 } refresh && !all.ContainsKey(refresh))
        {
            all[refresh] = new GatewayRoute(refresh, ActivatorUtilities.CreateInstance<Auth.TokenRefreshHandler>(services), "refresh");
        }

        // The topic commands are built in too, each unless a route of its key exists.
        if (o.Topics.Enabled)
        {
            foreach (var (key, type) in (ReadOnlySpan<(string, Type)>)[(o.Topics.Commands.Subscribe, typeof(Topics.SubscribeHandler)), (o.Topics.Commands.Unsubscribe, typeof(Topics.UnsubscribeHandler)), (o.Topics.Commands.Ping, typeof(Topics.PingHandler))])
            {
                if (key.Length > 0 && !all.ContainsKey(key))
                {
                    all[key] = new GatewayRoute(key, (IGatewayRouteHandler)ActivatorUtilities.CreateInstance(services, type), type.Name);
                }
            }
        }

        foreach (var (key, route) in all)
        {
            switch (key)
            {
                case RouteKeys.Connect:
                    Connect = route;
                    break;
                case RouteKeys.Disconnect:
                    Disconnect = route;
                    break;
                default:
                    // $default is found by name too, which is harmless; $connect and $disconnect never are.
                    _messageRoutes[key] = route;
                    break;
            }
        }

        Default = _messageRoutes.GetValueOrDefault(RouteKeys.Default);
        _lookup = _messageRoutes.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The route selection expression.</summary>
    public RouteSelector Selector { get; }

    /// <summary>The <c>$connect</c> route, or null (every handshake is accepted).</summary>
    public GatewayRoute? Connect { get; }

    /// <summary>The <c>$disconnect</c> route, or null.</summary>
    public GatewayRoute? Disconnect { get; }

    /// <summary>The <c>$default</c> route, or null.</summary>
    public GatewayRoute? Default { get; }

    /// <summary>Every route that messages can reach, by key.</summary>
    public IReadOnlyDictionary<string, GatewayRoute> MessageRoutes => _messageRoutes;

    /// <summary>The route for a text message: its selected key's route, else <c>$default</c> (null when neither exists).</summary>
    public GatewayRoute? Select(ReadOnlySpan<byte> utf8)
    {
        Span<char> key = stackalloc char[128];
        var length = Selector.Evaluate(utf8, key);
        if (length == RouteSelector.NotJson)
        {
            return Default;
        }

        if (length >= 0)
        {
            return _lookup.TryGetValue(key[..length], out var route) ? route : Default;
        }

        var rented = ArrayPool<char>.Shared.Rent(-length);
        try
        {
            length = Selector.Evaluate(utf8, rented);
            return _lookup.TryGetValue(rented.AsSpan(0, length), out var route) ? route : Default;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    private static GatewayRoute FromConfiguration(string key, GatewayRouteOptions route, Dictionary<string, Type> named, IServiceProvider services)
    {
        if (route.Integration is { Type: "http" } http)
        {
            var integration = ActivatorUtilities.CreateInstance<Integrations.HttpIntegration>(services, key, http);
            return new GatewayRoute(key, integration, "http " + http.Uri);
        }

        if (route.Integration is { } mock)
        {
            // "mock" is the only other type; the validator rejected anything else.
            return new GatewayRoute(key, new MockHandler(mock.Response, mock.StatusCode), "mock");
        }

        var name = route.Handler!;
        IGatewayRouteHandler handler = name switch
        {
            "echo" => services.GetService<EchoHandler>() ?? new EchoHandler(),
            "broadcast" => services.GetService<BroadcastHandler>() ?? new BroadcastHandler(),
            "mock" => new MockHandler(route.Response, route.StatusCode),
            _ => (IGatewayRouteHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, named[name]),
        };
        return new GatewayRoute(key, handler, name);
    }
}
