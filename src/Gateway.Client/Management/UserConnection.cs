namespace Gateway.Client.Management;

/// <summary>One connection of a user, on any node.</summary>
/// <param name="ConnectionId">The connection's id.</param>
/// <param name="Node">The node holding it.</param>
/// <param name="ConnectedAt">When it connected.</param>
public sealed record UserConnection(string ConnectionId, string? Node, DateTimeOffset? ConnectedAt);
