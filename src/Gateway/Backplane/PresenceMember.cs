namespace Gateway.Backplane;

/// <summary>A member of a topic's presence: a connection, its user, and what others see of it.</summary>
/// <param name="ConnectionId">The connection (for a topic's occupancy: the node that has subscribers).</param>
/// <param name="UserId">The connection's user, or null when it has none.</param>
/// <param name="Info">Its <c>info</c> as the JSON of one value, or null.</param>
public sealed record PresenceMember(string ConnectionId, string? UserId, byte[]? Info);
