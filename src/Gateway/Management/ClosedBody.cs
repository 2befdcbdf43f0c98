using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary><c>DELETE /@users/{userId}</c>: how many of the user's connections were closed, on every node.</summary>
/// <param name="Closed">How many, on the nodes that answered.</param>
/// <param name="Complete">True when every node answered.</param>
/// <param name="MissingNodes">The nodes that did not answer in time; only when not complete.</param>
public sealed record ClosedBody(
    [property: JsonPropertyName("closed")] int Closed,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("missingNodes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? MissingNodes);
