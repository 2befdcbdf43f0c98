namespace Gateway.Client.Management;

/// <summary>A user's connections on every node, as <c>GET /@users/{userId}</c> lists them.</summary>
/// <param name="Connections">The connections.</param>
/// <param name="Complete">False when a node did not answer in time.</param>
public sealed record UserConnections(IReadOnlyList<UserConnection> Connections, bool Complete);
