namespace Gateway.Server;

/// <summary>Which engine joins the nodes: the one configured, none for a node alone, and never two.</summary>
internal static class BackplaneEngine
{
    /// <summary><c>redis</c>, <c>nats</c>, or null; throws when both are configured.</summary>
    public static string? Choose(IConfiguration configuration)
    {
        var redis = !string.IsNullOrWhiteSpace(configuration["Gateway:Redis:Configuration"]);
        var nats = !string.IsNullOrWhiteSpace(configuration["Gateway:Nats:Url"]);
        return (redis, nats) switch
        {
            (true, true) => throw new StartupConfigurationException(
                "both Gateway:Redis:Configuration and Gateway:Nats:Url are set. The nodes of one gateway share one engine: remove one of them."),
            (true, false) => "redis",
            (false, true) => "nats",
            _ => null,
        };
    }
}
