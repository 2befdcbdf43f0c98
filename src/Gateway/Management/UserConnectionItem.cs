using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>One connection in <c>GET /@users/{userId}</c>.</summary>
/// <param name="ConnectionId">The id.</param>
/// <param name="Node">The node that holds it.</param>
/// <param name="ConnectedAt">ISO-8601, UTC.</param>
public sealed record UserConnectionItem(
    [property: JsonPropertyName("connectionId")] string ConnectionId,
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("connectedAt")] string ConnectedAt);
