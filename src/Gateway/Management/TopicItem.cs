using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>One subscribed topic (or pattern) in <c>GET /@topics</c>.</summary>
/// <param name="Channel">The topic or pattern, as clients subscribed to it.</param>
/// <param name="Subscribers">The connections subscribed to it, on every node that answered.</param>
public sealed record TopicItem(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("subscribers")] int Subscribers);
