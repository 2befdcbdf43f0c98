using System.Globalization;

namespace Gateway.Management;

/// <summary>Times as the management API writes them: ISO-8601, UTC, to the millisecond.</summary>
internal static class ManagementTime
{
    /// <summary>Writes <paramref name="value"/>.</summary>
    public static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
