namespace Gateway.Backplane;

/// <summary>How a subscribe or unsubscribe made for the server (not by the client) on a connection ended. The values are on the wire.</summary>
public enum ServerTopicResult : byte
{
    /// <summary>The connection is unknown or closed.</summary>
    Gone = 0,

    /// <summary>Done (or nothing to do: already subscribed, or not subscribed).</summary>
    Done = 1,

    /// <summary>The connection holds as many subscriptions as it may.</summary>
    LimitExceeded = 2,

    /// <summary>The node holding the connection, or the topic's shared history, cannot be reached right now.</summary>
    Unavailable = 3,
}
