namespace Gateway.Server;

/// <summary>
/// The server's content root is the folder it was installed in, not the current directory: started as
/// <c>dotnet /opt/gateway/Gateway.Server.dll</c> from anywhere, it still reads its own <c>appsettings.json</c>.
/// </summary>
internal static class ServerFolder
{
    public static WebApplicationOptions Options(string[] args)
    {
        // An explicit content root (--contentRoot, ASPNETCORE_CONTENTROOT or DOTNET_CONTENTROOT) still wins.
        var chosen = args.Any(a => a.StartsWith("--contentRoot", StringComparison.OrdinalIgnoreCase) || a.StartsWith("/contentRoot", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"));
        return new WebApplicationOptions { Args = args, ContentRootPath = chosen ? null : AppContext.BaseDirectory };
    }
}
