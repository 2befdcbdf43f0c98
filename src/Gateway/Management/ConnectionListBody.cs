using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary><c>GET /@connections</c>: a page of this node's connections, in id order.</summary>
/// <param name="Count">All connections of this node.</param>
/// <param name="Items">This page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last.</param>
public sealed record ConnectionListBody(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("items")] IReadOnlyList<ConnectionItem> Items,
    [property: JsonPropertyName("nextCursor")] string? NextCursor);
