using Gateway.Configuration;

namespace Gateway.Routing;

/// <summary>A handler configuration can name (<c>"Handler": "name"</c>): a class taken from DI or made, or a factory.</summary>
/// <param name="Name">The name configuration uses.</param>
/// <param name="HandlerType">A class implementing <see cref="IGatewayRouteHandler"/>.</param>
public sealed record NamedHandlerRegistration(string Name, Type HandlerType)
{
    /// <summary>
    /// Makes the handler of one route from the route's options (the built-in <c>mock</c> reads <c>Response</c> and
    /// <c>StatusCode</c>); null takes <see cref="HandlerType"/> from DI, or makes it.
    /// </summary>
    public Func<IServiceProvider, string, GatewayRouteOptions, IGatewayRouteHandler>? Create { get; init; }
}
