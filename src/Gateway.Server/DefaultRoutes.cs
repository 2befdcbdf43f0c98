namespace Gateway.Server;

/// <summary>
/// The routes a newcomer's <c>wscat</c> is answered by when none are configured: <c>$default</c> echoes and
/// <c>sendmessage</c> broadcasts. Any configured route replaces all of them, so that a user's routes never
/// mix with these.
/// </summary>
internal static class DefaultRoutes
{
    public static IConfigurationBuilder AddDefaultRoutes(this IConfigurationManager configuration)
    {
        if (configuration.GetSection("Gateway:Routes").GetChildren().Any())
        {
            return configuration;
        }

        return configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$default:Handler"] = "echo",
            ["Gateway:Routes:sendmessage:Handler"] = "broadcast",
        });
    }
}
