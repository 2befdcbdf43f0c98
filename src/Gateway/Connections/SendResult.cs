namespace Gateway.Connections;

/// <summary>What became of a message handed to a connection.</summary>
public enum SendResult
{
    /// <summary>Queued for the connection's writer.</summary>
    Sent,

    /// <summary>No such connection, or it is closing or closed.</summary>
    Gone,

    /// <summary>The connection's send queue was full: it is being closed as a slow consumer (1013).</summary>
    QueueFull,

    /// <summary>The connection id is not well formed.</summary>
    BadId,

    /// <summary>The connection lives on a node that could not be reached right now.</summary>
    Unavailable,
}
