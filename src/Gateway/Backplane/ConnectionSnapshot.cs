namespace Gateway.Backplane;

/// <summary>What the management API tells about a connection, wherever it lives.</summary>
/// <param name="ConnectionId">The connection id.</param>
/// <param name="ConnectedAt">When it connected.</param>
/// <param name="LastActiveAt">When a data frame last went either way.</param>
/// <param name="SourceIp">The client address.</param>
/// <param name="UserAgent">The client's user agent, or null.</param>
/// <param name="Attributes">Data attached to the connection by handlers or backends.</param>
public sealed record ConnectionSnapshot(string ConnectionId, DateTimeOffset ConnectedAt, DateTimeOffset LastActiveAt, string SourceIp, string? UserAgent, IReadOnlyDictionary<string, string> Attributes);
