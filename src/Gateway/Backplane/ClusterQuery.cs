namespace Gateway.Backplane;

/// <summary>A question every live node answers about its own connections (<see cref="IBackplane.QueryAllAsync"/>).</summary>
/// <param name="Name">Which question: <see cref="UserConnections"/>, <see cref="Presence"/>, or the name of an <see cref="IClusterQueryHandler"/>.</param>
/// <param name="Argument">Its argument (a user id, a topic).</param>
public sealed record ClusterQuery(string Name, string Argument)
{
    /// <summary>The ids of a user's open connections, one per line (the argument is the user id).</summary>
    public const string UserConnections = "user-connections";

    /// <summary>The node's own presence members and the topics it has subscribers of, every roster (<c>PresenceEncoding.Snapshots</c>; no argument).</summary>
    public const string Presence = "presence/2";
}
