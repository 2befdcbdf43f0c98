using System.Buffers;
using Gateway.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Routing;

/// <summary>Route key → handler, built once at start from configuration and code registrations.</summary>
public sealed class RouteTable
{
    private readonly Dictionary<string, GatewayRoute> _messageRoutes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GatewayRoute>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>Builds the table. Configuration has been validated by then, so every name resolves.</summary>
    public RouteTable(
        IOptions<GatewayOptions> options,
        IEnumerable<RouteRegistration> registrations,
        IEnumerable<NamedHandlerRegistration> namedHandlers,
        IEnumerable<IntegrationRegistration> integrations,
        IEnumerable<BuiltInRouteRegistration> builtIns,
        IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (!RouteSelector.TryParse(o.RouteSelectionExpression, out var selector, out var error))
        {
            throw new OptionsValidationException(GatewayOptions.SectionName, typeof(GatewayOptions), [error!]);
        }

        Selector = selector!;
        var named = namedHandlers.GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        var types = integrations.GroupBy(i => i.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        var all = new Dictionary<string, GatewayRoute>(StringComparer.Ordinal);
        foreach (var (section, route) in o.Routes)
        {
            var key = RouteKeys.FromConfiguration(section, route.RouteKey);
            all[key] = FromConfiguration(key, route, named, types, services);
        }

        foreach (var registration in registrations)
        {
            var handler = (IGatewayRouteHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, registration.HandlerType);
            all[registration.RouteKey] = new GatewayRoute(registration.RouteKey, handler, registration.HandlerType.Name);
        }

        // The built-in commands (token refresh while JWTs are configured, the topic commands), each unless a route of
        // its key exists.
        foreach (var builtIn in builtIns)
        {
            if (builtIn.Key(o) is { Length: > 0 } key && !all.ContainsKey(key))
            {
                all[key] = new GatewayRoute(key, (IGatewayRouteHandler)ActivatorUtilities.CreateInstance(services, builtIn.HandlerType), builtIn.Name);
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

    private static GatewayRoute FromConfiguration(string key, GatewayRouteOptions route, Dictionary<string, NamedHandlerRegistration> named, Dictionary<string, IntegrationRegistration> integrations, IServiceProvider services)
    {
        if (route.Integration is { } integration)
        {
            // The validator rejected types nobody registered.
            var registration = integrations[integration.Type];
            return new GatewayRoute(key, registration.Create(services, key, integration), registration.Describe(integration));
        }

        var name = route.Handler!;
        var handler = named[name];
        return new GatewayRoute(key, handler.Create?.Invoke(services, key, route) ?? (IGatewayRouteHandler)ActivatorUtilities.GetServiceOrCreateInstance(services, handler.HandlerType), name);
    }
}
