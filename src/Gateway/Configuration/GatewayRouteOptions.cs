namespace Gateway.Configuration;

/// <summary>One route: what handles messages whose route key matches.</summary>
public sealed class GatewayRouteOptions
{
    /// <summary>
    /// The route key, when it cannot be the configuration key itself (for example a key that differs
    /// only in case from another, since configuration keys are case-insensitive).
    /// </summary>
    public string? RouteKey { get; set; }

    /// <summary>A named handler: <c>echo</c>, <c>mock</c>, <c>broadcast</c>, or one registered in code.</summary>
    public string? Handler { get; set; }

    /// <summary>An integration that handles the route instead of a named handler.</summary>
    public IntegrationOptions? Integration { get; set; }

    /// <summary>For the <c>mock</c> handler: the response sent back (nothing when empty).</summary>
    public string? Response { get; set; }

    /// <summary>For the <c>mock</c> handler on <c>$connect</c>: the status that answers the handshake.</summary>
    public int StatusCode { get; set; } = 200;
}
