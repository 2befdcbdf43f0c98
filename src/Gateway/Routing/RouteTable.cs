using System.Buffers;
using Gateway.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Routing;

/// <summary>
/// Route key → handler, built at start from configuration and code registrations, and built again when the configuration
/// is reloaded: a message is routed by the table current when it arrives. Handler instances (registered or created once)
/// are kept from one table to the next; only integrations, whose settings are the route's, are made anew.
/// </summary>
public sealed class RouteTable
{
    private readonly IEnumerable<RouteRegistration> _registrations;
    private readonly Dictionary<string, NamedHandlerRegistration> _named;
    private readonly Dictionary<string, IntegrationRegistration> _integrations;
    private readonly IEnumerable<BuiltInRouteRegistration> _builtIns;
    private readonly IServiceProvider _services;

    // Handlers created here rather than taken from the container, by type: a reload reuses them, so their state stays.
    private readonly Dictionary<Type, IGatewayRouteHandler> _created = [];
    private volatile Routes _routes;

    /// <summary>Builds the table. Configuration has been validated by then, so every name resolves.</summary>
    public RouteTable(
        GatewayConfiguration configuration,
        IEnumerable<RouteRegistration> registrations,
        IEnumerable<NamedHandlerRegistration> namedHandlers,
        IEnumerable<IntegrationRegistration> integrations,
        IEnumerable<BuiltInRouteRegistration> builtIns,
        IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        _registrations = registrations;
        _named = namedHandlers.GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        _integrations = integrations.GroupBy(i => i.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        _builtIns = builtIns;
        _services = services;
        _routes = Build(configuration.Current);
        configuration.Changed += options => _routes = Build(options);
    }

    /// <summary>The route selection expression.</summary>
    public RouteSelector Selector => _routes.Selector;

    /// <summary>The <c>$connect</c> route, or null (every handshake is accepted).</summary>
    public GatewayRoute? Connect => _routes.Connect;

    /// <summary>The <c>$disconnect</c> route, or null.</summary>
    public GatewayRoute? Disconnect => _routes.Disconnect;

    /// <summary>The <c>$default</c> route, or null.</summary>
    public GatewayRoute? Default => _routes.Default;

    /// <summary>Every route that messages can reach, by key.</summary>
    public IReadOnlyDictionary<string, GatewayRoute> MessageRoutes => _routes.MessageRoutes;

    /// <summary>The route for a text message: its selected key's route, else <c>$default</c> (null when neither exists).</summary>
    public GatewayRoute? Select(ReadOnlySpan<byte> utf8)
    {
        // One table for the whole decision, even when a reload swaps it meanwhile.
        var routes = _routes;
        Span<char> key = stackalloc char[128];
        var length = routes.Selector.Evaluate(utf8, key);
        if (length == RouteSelector.NotJson)
        {
            return routes.Default;
        }

        if (length >= 0)
        {
            return routes.Lookup.TryGetValue(key[..length], out var route) ? route : routes.Default;
        }

        var rented = ArrayPool<char>.Shared.Rent(-length);
        try
        {
            length = routes.Selector.Evaluate(utf8, rented);
            return routes.Lookup.TryGetValue(rented.AsSpan(0, length), out var route) ? route : routes.Default;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    private Routes Build(GatewayOptions o)
    {
        if (!RouteSelector.TryParse(o.RouteSelectionExpression, out var selector, out var error))
        {
            throw new OptionsValidationException(GatewayOptions.SectionName, typeof(GatewayOptions), [error!]);
        }

        var all = new Dictionary<string, GatewayRoute>(StringComparer.Ordinal);
        foreach (var (section, route) in o.Routes)
        {
            var key = RouteKeys.FromConfiguration(section, route.RouteKey);
            all[key] = FromConfiguration(key, route);
        }

        foreach (var registration in _registrations)
        {
            var handler = Handler(registration.HandlerType, fromContainer: true);
            all[registration.RouteKey] = new GatewayRoute(registration.RouteKey, handler, registration.HandlerType.Name);
        }

        // The built-in commands (token refresh while JWTs are configured, the topic commands), each unless a route of
        // its key exists.
        foreach (var builtIn in _builtIns)
        {
            if (builtIn.Key(o) is { Length: > 0 } key && !all.ContainsKey(key))
            {
                all[key] = new GatewayRoute(key, Handler(builtIn.HandlerType, fromContainer: false), builtIn.Name);
            }
        }

        GatewayRoute? connect = null, disconnect = null;
        var messageRoutes = new Dictionary<string, GatewayRoute>(StringComparer.Ordinal);
        foreach (var (key, route) in all)
        {
            switch (key)
            {
                case RouteKeys.Connect:
                    connect = route;
                    break;
                case RouteKeys.Disconnect:
                    disconnect = route;
                    break;
                default:
                    // $default is found by name too, which is harmless; $connect and $disconnect never are.
                    messageRoutes[key] = route;
                    break;
            }
        }

        return new Routes(selector!, connect, disconnect, messageRoutes);
    }

    /// <summary>The handler of a type: the container's when it has one (and <paramref name="fromContainer"/>), else one created once.</summary>
    private IGatewayRouteHandler Handler(Type type, bool fromContainer)
    {
        if (fromContainer && _services.GetService(type) is IGatewayRouteHandler registered)
        {
            return registered;
        }

        lock (_created)
        {
            if (!_created.TryGetValue(type, out var handler))
            {
                handler = (IGatewayRouteHandler)ActivatorUtilities.CreateInstance(_services, type);
                _created[type] = handler;
            }

            return handler;
        }
    }

    private GatewayRoute FromConfiguration(string key, GatewayRouteOptions route)
    {
        if (route.Integration is { } integration)
        {
            // The validator rejected types nobody registered. Integrations are made anew: their settings are the route's.
            var registration = _integrations[integration.Type];
            return new GatewayRoute(key, registration.Create(_services, key, integration), registration.Describe(integration));
        }

        var name = route.Handler!;
        var named = _named[name];
        return new GatewayRoute(key, named.Create?.Invoke(_services, key, route) ?? Handler(named.HandlerType, fromContainer: true), name);
    }

    /// <summary>One table, never changed once built; a reload builds another.</summary>
    private sealed class Routes
    {
        public Routes(RouteSelector selector, GatewayRoute? connect, GatewayRoute? disconnect, Dictionary<string, GatewayRoute> messageRoutes)
        {
            Selector = selector;
            Connect = connect;
            Disconnect = disconnect;
            MessageRoutes = messageRoutes;
            Default = messageRoutes.GetValueOrDefault(RouteKeys.Default);
            Lookup = messageRoutes.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public RouteSelector Selector { get; }

        public GatewayRoute? Connect { get; }

        public GatewayRoute? Disconnect { get; }

        public GatewayRoute? Default { get; }

        public Dictionary<string, GatewayRoute> MessageRoutes { get; }

        public Dictionary<string, GatewayRoute>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }
    }
}
