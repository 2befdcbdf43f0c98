using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>The message of an error answer.</summary>
/// <param name="Message">What went wrong.</param>
public sealed record ErrorBody([property: JsonPropertyName("message")] string Message);
