using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>The answer of <c>POST /@batch</c>: one result per item, in item order.</summary>
/// <param name="Results">The results.</param>
public sealed record BatchBody([property: JsonPropertyName("results")] IReadOnlyList<BatchResult> Results);
