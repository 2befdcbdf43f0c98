using Microsoft.Extensions.Configuration.Json;

namespace Gateway.Server;

/// <summary>
/// <c>GATEWAY_SETTINGS=path/to/settings.json</c> adds a settings file after <c>appsettings.json</c> and before
/// environment variables and arguments, so a deployment can keep its routes in one file and still override any
/// value with an environment variable.
/// </summary>
internal static class SettingsFile
{
    public static IConfigurationManager AddSettingsFile(this IConfigurationManager configuration)
    {
        var path = Environment.GetEnvironmentVariable("GATEWAY_SETTINGS");
        if (string.IsNullOrWhiteSpace(path))
        {
            return configuration;
        }

        var full = Path.GetFullPath(path);
        var sources = configuration.Sources;
        var appsettings = sources.ToList().FindLastIndex(s => s is JsonConfigurationSource { Path: { } p } && p.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase));
        var source = new JsonConfigurationSource { Path = Path.GetFileName(full), Optional = false, ReloadOnChange = false };
        source.FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.GetDirectoryName(full)!);
        sources.Insert(appsettings + 1, source);
        return configuration;
    }
}
