using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary><c>GET /@topics/{topic}</c>: how many connections of every node a publish to the topic reaches.</summary>
/// <param name="Channel">The topic.</param>
/// <param name="Subscribers">The connections, on the nodes that answered.</param>
/// <param name="Complete">True when every node answered.</param>
/// <param name="MissingNodes">The nodes that did not answer in time; only when not complete.</param>
/// <param name="Members">The presence members, every node's; only for topics with presence.</param>
public sealed record TopicBody(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("subscribers")] int Subscribers,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("missingNodes"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? MissingNodes,
    [property: JsonPropertyName("members"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<PresenceMemberItem>? Members = null);
