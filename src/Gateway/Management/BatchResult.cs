using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>The result of one batch item: what the single call would have answered.</summary>
/// <param name="Status">The HTTP status the single call would have had.</param>
/// <param name="Delivered">On success, how many connections of this node took it (1 for a connection that took it).</param>
/// <param name="ErrorType">On failure, the error's name, as <c>x-amzn-ErrorType</c> would carry it.</param>
/// <param name="Message">On failure, what went wrong.</param>
public sealed record BatchResult(
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("delivered"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Delivered,
    [property: JsonPropertyName("errorType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ErrorType,
    [property: JsonPropertyName("message"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Message);
