namespace Gateway.Routing;

/// <summary>The predefined route keys, and how configuration names map to route keys.</summary>
public static class RouteKeys
{
    /// <summary>Runs on the opening handshake, before the upgrade.</summary>
    public const string Connect = "$connect";

    /// <summary>Runs after every close.</summary>
    public const string Disconnect = "$disconnect";

    /// <summary>Runs when no other route matches.</summary>
    public const string Default = "$default";

    /// <summary>
    /// The route key of a configuration entry: its <c>RouteKey</c> when set, else the section name, where
    /// <c>_connect</c>, <c>_disconnect</c> and <c>_default</c> stand for the <c>$</c> keys (a <c>$</c> is awkward
    /// in environment variable names: <c>Gateway__Routes___connect__Handler</c>).
    /// </summary>
    public static string FromConfiguration(string sectionName, string? routeKey)
    {
        ArgumentNullException.ThrowIfNull(sectionName);
        if (!string.IsNullOrEmpty(routeKey))
        {
            return routeKey;
        }

        return sectionName switch
        {
            "_connect" => Connect,
            "_disconnect" => Disconnect,
            "_default" => Default,
            _ => sectionName,
        };
    }
}
