namespace Gateway.Routing;

/// <summary>A route mapped from code to a handler class (<c>MapRoute&lt;THandler&gt;(key)</c>); it wins over configuration.</summary>
/// <param name="RouteKey">The route key.</param>
/// <param name="HandlerType">A class implementing <see cref="IGatewayRouteHandler"/>.</param>
public sealed record RouteRegistration(string RouteKey, Type HandlerType);
