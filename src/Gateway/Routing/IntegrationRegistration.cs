using Gateway.Configuration;

namespace Gateway.Routing;

/// <summary>
/// An integration type configuration can name (<c>"Integration": {"Type": "http"}</c>), registered by the part that
/// implements it, so that the route table knows integrations only by this seam.
/// </summary>
/// <param name="Type">The name in <c>Integration:Type</c>.</param>
/// <param name="Create">Makes the handler of one route: services, the route key, the integration's options.</param>
/// <param name="Describe">How logs and the dashboard name such a route, for example <c>http http://backend/ask</c>.</param>
public sealed record IntegrationRegistration(
    string Type,
    Func<IServiceProvider, string, IntegrationOptions, IGatewayRouteHandler> Create,
    Func<IntegrationOptions, string> Describe);
