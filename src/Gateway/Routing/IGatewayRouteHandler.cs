namespace Gateway.Routing;

/// <summary>Handles the events of one or more routes. Implementations are singletons and must be thread-safe.</summary>
public interface IGatewayRouteHandler
{
    /// <summary>
    /// Handles one event. The returned result may carry a route response for the caller, or, on
    /// <c>$connect</c>, reject the handshake with a status code or select a subprotocol.
    /// </summary>
    ValueTask<RouteResult> HandleAsync(GatewayRouteContext context);
}
