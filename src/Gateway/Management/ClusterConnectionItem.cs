using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>One connection in the cluster-wide <c>GET /@connections</c>.</summary>
/// <param name="ConnectionId">The id.</param>
/// <param name="Node">The node that holds it.</param>
/// <param name="UserId">Its user (a JWT subject), or null.</param>
/// <param name="ConnectedAt">ISO-8601, UTC.</param>
public sealed record ClusterConnectionItem(
    [property: JsonPropertyName("connectionId")] string ConnectionId,
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("userId")] string? UserId,
    [property: JsonPropertyName("connectedAt")] string ConnectedAt);
