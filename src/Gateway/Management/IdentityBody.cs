using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>The client half of <see cref="ConnectionBody"/>.</summary>
/// <param name="SourceIp">The client address.</param>
/// <param name="UserAgent">The client's user agent, null when none was sent.</param>
public sealed record IdentityBody(
    [property: JsonPropertyName("sourceIp")] string SourceIp,
    [property: JsonPropertyName("userAgent")] string? UserAgent);
