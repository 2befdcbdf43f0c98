using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gateway.Management;

/// <summary>A presence member as <c>GET /@topics/{topic}</c> lists it.</summary>
/// <param name="ConnectionId">The connection.</param>
/// <param name="UserId">Its user, or null.</param>
/// <param name="Info">Its info, or null.</param>
public sealed record PresenceMemberItem(
    [property: JsonPropertyName("connectionId")] string ConnectionId,
    [property: JsonPropertyName("userId")] string? UserId,
    [property: JsonPropertyName("info")] JsonElement? Info);
