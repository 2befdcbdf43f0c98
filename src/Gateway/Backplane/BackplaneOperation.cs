namespace Gateway.Backplane;

/// <summary>What one node asks of another, or of all others. The values are on the wire: never renumber one.</summary>
internal enum BackplaneOperation : byte
{
    Send = 1,
    Disconnect = 2,
    Get = 3,
    SetAttributes = 4,
    Reply = 5,
    Broadcast = 6,
    User = 7,
    Publish = 8,
    UserConnections = 9,

    /// <summary>A cluster-wide query other than <see cref="UserConnections"/>: its name in the text, its argument in the target.</summary>
    Query = 10,

    /// <summary>
    /// A member joined a topic's presence on the sending node: the topic in the target, the connection id in the text,
    /// the roster (0 members, 1 the nodes with subscribers) in the kind, <see cref="PresenceEncoding.Join"/> in the payload.
    /// </summary>
    PresenceJoin = 11,

    /// <summary>A member left a topic's presence on the sending node: as a join, with <see cref="PresenceEncoding.Leave"/> in the payload.</summary>
    PresenceLeave = 12,

    /// <summary>Subscribes a connection to a topic for the server: the topic in the payload; the answer's kind is a <see cref="ServerTopicResult"/>.</summary>
    Subscribe = 13,

    /// <summary>Unsubscribes a connection from a topic for the server: the topic in the payload.</summary>
    Unsubscribe = 14,

    /// <summary>A broadcast that skips some connections: <see cref="ExclusionEncoding"/> in front of the payload.</summary>
    BroadcastExcept = 15,

    /// <summary>A user send that skips some connections: <see cref="ExclusionEncoding"/> in front of the payload.</summary>
    UserExcept = 16,

    /// <summary>A topic publish that skips some connections: <see cref="ExclusionEncoding"/> in front of the data.</summary>
    PublishExcept = 17,

    /// <summary>A topic publish a client made: <see cref="EventOrigin.Wrap"/> (who published it) in front of the data.</summary>
    PublishFrom = 18,

    /// <summary>The sending node's own presence members, every roster (<see cref="PresenceEncoding.Snapshots"/>), re-announced after it was cut off.</summary>
    PresenceSnapshot = 19,

    /// <summary>
    /// Directed to the node holding a resumable session: hand it over to the asking node, where its client resumed.
    /// The payload is the token's number, the client's received count and the user id (<see cref="SessionHandoverEncoding"/>).
    /// </summary>
    Resume = 20,

    /// <summary>
    /// Directed to the node holding a Server-Sent Events connection: a message its client posted to another node. The
    /// kind is 0 for text, 1 for binary, 2 for the client's close; the payload the sequence number (8 bytes, big-endian)
    /// and the body. The answer's kind is an <see cref="Connections.SsePostOutcome"/>, its payload the number expected next.
    /// </summary>
    SsePost = 21,
}
