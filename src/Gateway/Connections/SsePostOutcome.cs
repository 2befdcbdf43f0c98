namespace Gateway.Connections;

/// <summary>What became of a message a Server-Sent Events client posted. The values travel between nodes: never renumber one.</summary>
public enum SsePostOutcome : byte
{
    /// <summary>No such connection here, or it is closing or closed (410).</summary>
    Gone = 0,

    /// <summary>Taken, in order, to be applied as the next message (202).</summary>
    Accepted = 1,

    /// <summary>A sequence number already taken: a retried post, not applied again (202).</summary>
    Duplicate = 2,

    /// <summary>A sequence number past the next one expected (409, with the expected number).</summary>
    OutOfOrder = 3,

    /// <summary>The connection's messages not yet applied fill its inbox (429).</summary>
    Busy = 4,

    /// <summary>The session lost its stream and waits for its client to reconnect (503; post again once the stream is back).</summary>
    Reconnecting = 5,

    /// <summary>The connection was asked to close (a <c>DELETE</c> of its send URL).</summary>
    Closing = 6,

    /// <summary>The node that holds the connection could not be reached right now (503).</summary>
    Unavailable = 7,
}
