namespace Gateway.Backplane;

/// <summary>What the management API tells about a connection, wherever it lives.</summary>
/// <param name="ConnectionId">The connection id.</param>
/// <param name="ConnectedAt">When it connected.</param>
/// <param name="LastActiveAt">When a data frame last went either way.</param>
/// <param name="SourceIp">The client address.</param>
/// <param name="UserAgent">The client's user agent, or null.</param>
/// <param name="Attributes">Data attached to the connection by handlers or backends.</param>
/// <param name="UserId">The authenticated user, or null.</param>
/// <param name="AuthMethod">How it authenticated (<c>jwt</c>, <c>secret</c>, <c>sigv4</c>, <c>authorizer</c>), or <c>anonymous</c>.</param>
/// <param name="Subscriptions">The topic patterns it subscribes to.</param>
/// <param name="QueuedMessages">Messages waiting in its send queue.</param>
public sealed record ConnectionSnapshot(
    string ConnectionId,
    DateTimeOffset ConnectedAt,
    DateTimeOffset LastActiveAt,
    string SourceIp,
    string? UserAgent,
    IReadOnlyDictionary<string, string> Attributes,
    string? UserId = null,
    string AuthMethod = "anonymous",
    IReadOnlyList<string>? Subscriptions = null,
    int QueuedMessages = 0)
{
    /// <summary>Describes a connection of this node.</summary>
    public static ConnectionSnapshot Of(Connections.GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new ConnectionSnapshot(connection.Id, connection.ConnectedAt, connection.LastActiveAt, connection.SourceIp, connection.UserAgent,
            connection.AttributesSnapshot(), connection.UserId, connection.Identity?.Method ?? "anonymous", connection.SubscriptionsSnapshot(), connection.QueuedMessages);
    }
}
