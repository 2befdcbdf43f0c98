using System.Text.Json;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;

namespace Gateway.Server;

/// <summary>
/// <c>GATEWAY_SETTINGS=path/to/settings.json</c> adds a settings file after <c>appsettings.json</c> and before
/// environment variables and arguments, so a deployment can keep its routes in one file and still override any
/// value with an environment variable. A relative path is resolved against the current directory (the folder the
/// command was run from: <c>dotnet run</c> runs the server there too), else against the shell's <c>PWD</c>; a
/// leading <c>~/</c> is the home folder.
/// </summary>
internal static class SettingsFile
{
    public const string Variable = "GATEWAY_SETTINGS";

    public static IConfigurationManager AddSettingsFile(this IConfigurationManager configuration)
    {
        var given = Environment.GetEnvironmentVariable(Variable)?.Trim();
        if (string.IsNullOrEmpty(given))
        {
            return configuration;
        }

        var full = Resolve(given);
        try
        {
            // Opened here first so that a file that cannot be read is named with its reason.
            using (File.OpenRead(full))
            {
            }
        }
        catch (UnauthorizedAccessException)
        {
            throw new StartupConfigurationException($"{Variable}: the settings file '{full}' cannot be read (permission denied).");
        }
        catch (IOException ex)
        {
            throw new StartupConfigurationException($"{Variable}: the settings file '{full}' cannot be read: {ex.Message}");
        }

        var sources = configuration.Sources;
        var appsettings = sources.ToList().FindLastIndex(s => s is JsonConfigurationSource { Path: { } p } && p.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase));
        var source = new SettingsFileSource
        {
            Path = Path.GetFileName(full),
            Optional = false,
            // Edits apply while the gateway runs (see docs/configuration.md, "What reloads and what needs a restart").
            ReloadOnChange = true,
            FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(full)!),
        };
        try
        {
            // The configuration manager reads the file as soon as the source is added.
            sources.Insert(appsettings + 1, source);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or JsonException)
        {
            // The innermost exception is the JSON reader's, with the line and position.
            var reason = ex.GetBaseException().Message;
            throw new StartupConfigurationException($"{Variable}: the settings file '{full}' is not a valid JSON settings file: {reason}", ex);
        }

        return configuration;
    }

    /// <summary>The full path of the settings file, or a start-up error naming every place it was looked for.</summary>
    internal static string Resolve(string given)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (given == "~" || given.StartsWith("~/", StringComparison.Ordinal))
        {
            given = Path.Join(home, given[1..]);
        }

        var candidates = new List<string> { Path.GetFullPath(given) };
        var shell = Environment.GetEnvironmentVariable("PWD");
        if (!Path.IsPathRooted(given) && !string.IsNullOrEmpty(shell) && Path.IsPathRooted(shell))
        {
            candidates.Add(Path.GetFullPath(given, shell));
        }

        candidates = candidates.Distinct(StringComparer.Ordinal).ToList();
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        if (candidates.Any(Directory.Exists))
        {
            throw new StartupConfigurationException($"{Variable}: '{given}' is a folder; name the JSON settings file in it.");
        }

        throw new StartupConfigurationException($"{Variable}: the settings file '{given}' does not exist (looked for {string.Join(" and ", candidates)}).");
    }
}
