using System.Text.RegularExpressions;
using Serilog.Core;
using Serilog.Events;

namespace Gateway.Server;

/// <summary>
/// Masks secrets in every logged text value before any sink sees it: query parameters and fields named like
/// credentials (<c>token</c>, <c>access_token</c>, <c>secret</c>, <c>api_key</c>, <c>X-Amz-Signature</c>…), and
/// bearer tokens. ASP.NET Core's own request lines include the query string, where browsers put the JWT.
/// </summary>
internal sealed partial class SecretRedaction : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        foreach (var (name, value) in logEvent.Properties.ToList())
        {
            if (value is ScalarValue { Value: string text } && Redact(text) is var redacted && !ReferenceEquals(redacted, text))
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(name, new ScalarValue(redacted)));
            }
        }
    }

    /// <summary>The text with secrets masked; the same instance when there is none.</summary>
    public static string Redact(string text)
    {
        if (!text.Contains('=', StringComparison.Ordinal) && !text.Contains("earer", StringComparison.Ordinal))
        {
            return text;
        }

        var masked = Parameter().Replace(text, "$1=***");
        masked = Bearer().Replace(masked, "$1 ***");
        return masked == text ? text : masked;
    }

    [GeneratedRegex(@"(?i)\b((?:access_|id_|refresh_)?token|secret|password|api[-_]?key|x-amz-signature|x-amz-security-token|signature)=([^&\s""']+)")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")]
    private static partial Regex Bearer();
}
