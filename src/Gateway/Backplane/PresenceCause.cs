namespace Gateway.Backplane;

/// <summary>What made a change in a presence roster.</summary>
public enum PresenceCause
{
    /// <summary>The member subscribed or unsubscribed (or its connection closed).</summary>
    Live,

    /// <summary>A node's list of its members, read or re-announced, said so (this node had missed the change).</summary>
    Resync,

    /// <summary>The member's node stopped renewing its liveness record: it died or was cut off.</summary>
    NodeLost,

    /// <summary>This node read the members of the others as it started.</summary>
    Startup,
}
