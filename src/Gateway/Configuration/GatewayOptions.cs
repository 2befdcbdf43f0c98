namespace Gateway.Configuration;

/// <summary>The <c>Gateway</c> configuration section: everything a node needs to serve clients.</summary>
public sealed class GatewayOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Gateway";

    /// <summary>Where clients and the management API listen.</summary>
    public ListenersOptions Listeners { get; set; } = new();

    /// <summary>The stage name: clients may connect at <c>/{Stage}</c> as well as <c>/</c>.</summary>
    public string Stage { get; set; } = "prod";

    /// <summary>The API id integration events carry as <c>requestContext.apiId</c>.</summary>
    public string ApiId { get; set; } = "gateway";

    /// <summary>The route selection expression evaluated against each text message.</summary>
    public string RouteSelectionExpression { get; set; } = "$request.body.action";

    /// <summary>The management API.</summary>
    public ManagementOptions Management { get; set; } = new();

    /// <summary>Client authentication on <c>$connect</c>.</summary>
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Topic subscriptions, publishing and history.</summary>
    public TopicsOptions Topics { get; set; } = new();

    /// <summary>Per-connection limits and behaviour.</summary>
    public ConnectionsOptions Connections { get; set; } = new();

    /// <summary>The Server-Sent Events fallback for clients that cannot open a WebSocket.</summary>
    public SseOptions Sse { get; set; } = new();

    /// <summary>Routes by route key (<c>$connect</c>, <c>$disconnect</c>, <c>$default</c>, custom keys).</summary>
    public Dictionary<string, GatewayRouteOptions> Routes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Optional fixed node id (8 URL-safe characters); a random one is minted at start when empty.</summary>
    public string? NodeId { get; set; }
}
