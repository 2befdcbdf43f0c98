using System.Text.RegularExpressions;
using Serilog.Core;
using Serilog.Events;

namespace Gateway.Server;

/// <summary>
/// Masks secrets in every logged text value before any sink sees it: query parameters and fields named like
/// credentials (<c>token</c>, <c>access_token</c>, <c>secret</c>, <c>api_key</c>, <c>X-Amz-Signature</c>…), and
/// bearer tokens. ASP.NET Core's own request lines include the query string, where browsers put the JWT.
/// </summary>
internal sealed partial class SecretRedaction(IEnumerable<string>? extraNames = null) : ILogEventEnricher
{
    // Query parameters the configuration names for credentials (Auth:Jwt:QueryParameter, Auth:SharedSecret:QueryParameter…).
    private readonly Regex? _extra = extraNames?.Where(n => !string.IsNullOrWhiteSpace(n)).Select(Regex.Escape).ToList() is { Count: > 0 } names
        ? new Regex($@"(?i)(?<![A-Za-z0-9_\-])({string.Join('|', names)})=([^&\s""']+)", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1))
        : null;

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
    public string Redact(string text)
    {
        var masked = text;
        if (text.Contains("eyJ", StringComparison.Ordinal))
        {
            // Anything shaped like a JWT, wherever it appears and whatever it is called.
            masked = Jwt().Replace(masked, "***");
        }

        if (masked.Contains('=', StringComparison.Ordinal) || masked.Contains("earer", StringComparison.Ordinal))
        {
            masked = Parameter().Replace(masked, "$1=***");
            masked = _extra?.Replace(masked, "$1=***") ?? masked;
            masked = Bearer().Replace(masked, "$1 ***");
        }

        return masked == text ? text : masked;
    }

    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"(?i)\b((?:access_|id_|refresh_)?token|secret|password|api[-_]?key|x-amz-signature|x-amz-security-token|signature)=([^&\s""']+)")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")]
    private static partial Regex Bearer();
}
