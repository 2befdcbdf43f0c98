namespace Gateway.Configuration;

/// <summary>An integration behind a route.</summary>
public sealed class IntegrationOptions
{
    /// <summary>The integration type: <c>http</c> or <c>mock</c>.</summary>
    public string Type { get; set; } = "";

    /// <summary>For <c>http</c>: the backend URL that receives each event.</summary>
    public string? Uri { get; set; }

    /// <summary>For <c>http</c>: <c>lambda</c> posts the Lambda-proxy WebSocket event; <c>raw</c> posts the message body as it is.</summary>
    public IntegrationRequestFormat RequestFormat { get; set; } = IntegrationRequestFormat.Lambda;

    /// <summary>For <c>http</c>: send a 2xx answer's body back to the caller (a two-way route).</summary>
    public bool ReturnResponse { get; set; }

    /// <summary>For <c>http</c>: how answers reach the caller, <c>Raw</c> or the chat-connector <c>Connector</c> protocol.</summary>
    public StreamEnvelope Envelope { get; set; } = StreamEnvelope.Raw;

    /// <summary>For <c>http</c>: how long the backend has to answer (Amazon's limit is 29 s); for a stream, to begin it.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(29);

    /// <summary>For <c>http</c>: streams one connection may have running at once; one more is refused ("Internal server error").</summary>
    public int MaxStreamsPerConnection { get; set; } = 4;

    /// <summary>For <c>http</c>: a stream that sends no event for this long is ended.</summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(29);

    /// <summary>For <c>http</c>: a stream is ended after this long, however lively.</summary>
    public TimeSpan MaxStreamDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// For <c>http</c>: relay a streamed answer to this topic instead of only the caller, as <c>message_stream</c> events,
    /// so every subscriber sees it. A template over the client's message: <c>conversation:{conversation_id}</c> takes
    /// <c>conversation_id</c> from the message's top level or its <c>data</c>. The caller must be allowed to subscribe to it.
    /// </summary>
    public string? StreamTopic { get; set; }

    /// <summary>For <c>http</c>: how often a failed call (refused, timed out, 5xx) is tried again. Messages are not idempotent, so 0.</summary>
    public int Retries { get; set; }

    /// <summary>For <c>mock</c>: the response sent back (nothing when empty).</summary>
    public string? Response { get; set; }

    /// <summary>For <c>mock</c> on <c>$connect</c>: the status that answers the handshake.</summary>
    public int StatusCode { get; set; } = 200;
}
