using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary><c>GET /@topics</c>: a page of the topics and patterns with subscribers on any node, in ordinal order.</summary>
/// <param name="Count">The items of this page (a count of every topic would need every node's whole list).</param>
/// <param name="Items">This page.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last.</param>
/// <param name="Complete">True when every node answered.</param>
/// <param name="MissingNodes">The nodes that did not answer in time; only when not complete.</param>
public sealed record TopicListBody(
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("items")] IReadOnlyList<TopicItem> Items,
    [property: JsonPropertyName("nextCursor")] string? NextCursor,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("missingNodes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? MissingNodes);
