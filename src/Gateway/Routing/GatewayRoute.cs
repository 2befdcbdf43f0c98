namespace Gateway.Routing;

/// <summary>A route: its key and the handler of its events.</summary>
/// <param name="Key">The route key (case-sensitive).</param>
/// <param name="Handler">The handler.</param>
/// <param name="HandlerName">The handler's name or type, for logs.</param>
public sealed record GatewayRoute(string Key, IGatewayRouteHandler Handler, string HandlerName);
