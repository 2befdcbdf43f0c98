using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary><c>GET /@users/{userId}</c>: the user's connections on every node, in id order.</summary>
/// <param name="Count">How many there are (0 when none), on the nodes that answered.</param>
/// <param name="Items">The connections (at most 1000 of them).</param>
/// <param name="Complete">True when every node answered.</param>
/// <param name="MissingNodes">The nodes that did not answer in time; only when not complete.</param>
public sealed record UserBody(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("items")] IReadOnlyList<UserConnectionItem> Items,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("missingNodes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? MissingNodes);
