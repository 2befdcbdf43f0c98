using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary><c>GET /@connections</c>: a page of the connections of every node, in id order.</summary>
/// <param name="Count">All the connections that match, on the nodes that answered.</param>
/// <param name="Items">This page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last.</param>
/// <param name="Complete">True when every node answered.</param>
/// <param name="MissingNodes">The nodes that did not answer in time; only when not complete.</param>
public sealed record ClusterConnectionListBody(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("items")] IReadOnlyList<ClusterConnectionItem> Items,
    [property: JsonPropertyName("nextCursor")] string? NextCursor,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("missingNodes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? MissingNodes);
