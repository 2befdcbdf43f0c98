using System.Text;
using Microsoft.Extensions.Options;

namespace Gateway.Server;

/// <summary>
/// Turns the exceptions a wrong configuration causes at start into a few lines for the user: the file and the
/// problem, or the list of every invalid option. Any other exception is left alone, with its stack trace.
/// </summary>
internal static class StartupFailure
{
    /// <summary>The exit code of a configuration error: EX_CONFIG of sysexits.h, so a supervisor can tell it from a crash.</summary>
    public const int ExitCode = 78;

    public static string? Describe(Exception exception)
    {
        switch (exception)
        {
            case StartupConfigurationException e:
                return "Gateway did not start: " + e.Message;
            case OptionsValidationException e:
                return Invalid(e.Failures);
            case AggregateException e when e.InnerExceptions.Count > 0 && e.InnerExceptions.All(i => i is OptionsValidationException):
                return Invalid(e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures));
            case InvalidDataException e when e.Message.StartsWith("Failed to load configuration from file", StringComparison.Ordinal):
                // A settings file (appsettings.json) that is not valid JSON: the file is in the message, the place in the inner one.
                return $"Gateway did not start: {e.Message.TrimEnd('.')}: {e.GetBaseException().Message}";
            case IOException e when e.Message.StartsWith("Failed to bind to address", StringComparison.Ordinal):
                // Another process holds the port: Kestrel's message names the address.
                return "Gateway did not start: " + e.Message + " Set Gateway:Listeners:Client, Gateway:Listeners:Management or Gateway:Listeners:ClientHttp2 to another address.";
            default:
                return null;
        }
    }

    private static string Invalid(IEnumerable<string> failures)
    {
        var list = failures.Distinct(StringComparer.Ordinal).ToList();
        var text = new StringBuilder();
        text.Append("Gateway did not start: the configuration has ").Append(list.Count).Append(list.Count == 1 ? " problem:" : " problems:").AppendLine();
        foreach (var failure in list)
        {
            text.Append("  - ").AppendLine(failure);
        }

        text.Append("Every option, its default and how to write it: docs/configuration.md.");
        return text.ToString();
    }
}
