namespace Gateway.Configuration;

/// <summary>How a streamed answer reaches the caller.</summary>
public enum StreamEnvelope
{
    /// <summary>Each event's data as its own frame.</summary>
    Raw,

    /// <summary>
    /// The chat-connector protocol: <c>ack</c> on receipt, then <c>stream_start</c>, a <c>stream_chunk</c> per event and
    /// <c>stream_end</c> (with <c>full_response</c> and <c>token_usage</c>); a plain answer becomes one <c>response</c> frame.
    /// </summary>
    Connector,
}
