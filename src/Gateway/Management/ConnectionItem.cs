using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>One connection in <c>GET /@connections</c>.</summary>
/// <param name="ConnectionId">The id.</param>
/// <param name="ConnectedAt">ISO-8601, UTC.</param>
/// <param name="Identity">Where the client came from.</param>
/// <param name="LastActiveAt">ISO-8601, UTC.</param>
public sealed record ConnectionItem(
    [property: JsonPropertyName("connectionId")] string ConnectionId,
    [property: JsonPropertyName("connectedAt")] string ConnectedAt,
    [property: JsonPropertyName("identity")] IdentityBody Identity,
    [property: JsonPropertyName("lastActiveAt")] string LastActiveAt);
