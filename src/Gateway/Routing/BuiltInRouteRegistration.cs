using Gateway.Configuration;

namespace Gateway.Routing;

/// <summary>
/// A command every gateway answers unless a route of its key exists (token refresh, subscribe, unsubscribe, ping),
/// registered by the part that implements it.
/// </summary>
/// <param name="Key">The command's route key from the options, or null when the command is off.</param>
/// <param name="HandlerType">A class implementing <see cref="IGatewayRouteHandler"/>, made for the route.</param>
/// <param name="Name">How logs and the dashboard name the route.</param>
public sealed record BuiltInRouteRegistration(Func<GatewayOptions, string?> Key, Type HandlerType, string Name);
