namespace Gateway.Routing;

/// <summary>What a handler answered.</summary>
public readonly record struct RouteResult
{
    /// <summary>The status: on <c>$connect</c> a non-2xx rejects the handshake with exactly this code.</summary>
    public int StatusCode { get; init; }

    /// <summary>A route response for the caller, if any.</summary>
    public ReadOnlyMemory<byte>? Response { get; init; }

    /// <summary>True when <see cref="Response"/> is a binary frame.</summary>
    public bool ResponseIsBinary { get; init; }

    /// <summary>On <c>$connect</c>: the subprotocol the handshake selects.</summary>
    public string? SubProtocol { get; init; }

    /// <summary>
    /// On <c>$connect</c>: members added to the connected frame (<c>{"type":"connected","connectionId":…, …}</c>), a
    /// JSON object such as <c>{"connector_run_id":"run_1"}</c>. <c>type</c>, <c>connectionId</c> and
    /// <c>resumeToken</c> are the gateway's and are not taken.
    /// </summary>
    public System.Text.Json.JsonElement? Connected { get; init; }

    /// <summary>On <c>$connect</c>: the connection's <c>info</c> as presence members show it (a JSON value), instead of the claims named in <c>Topics:Presence:InfoClaims</c>.</summary>
    public System.Text.Json.JsonElement? PresenceInfo { get; init; }

    /// <summary>True for a 2xx status.</summary>
    public bool IsSuccess => StatusCode is >= 200 and <= 299;

    /// <summary>Success with nothing to send back.</summary>
    public static RouteResult Ok { get; } = new() { StatusCode = 200 };

    /// <summary>Success, sending <paramref name="utf8"/> back as a text frame.</summary>
    public static RouteResult Reply(ReadOnlyMemory<byte> utf8) => new() { StatusCode = 200, Response = utf8 };

    /// <summary>Success, sending <paramref name="bytes"/> back as a binary frame.</summary>
    public static RouteResult ReplyBinary(ReadOnlyMemory<byte> bytes) => new() { StatusCode = 200, Response = bytes, ResponseIsBinary = true };

    /// <summary>On <c>$connect</c>: accept, selecting <paramref name="subProtocol"/>.</summary>
    public static RouteResult Accept(string? subProtocol = null) => new() { StatusCode = 200, SubProtocol = subProtocol };

    /// <summary>On <c>$connect</c>: reject the handshake with <paramref name="statusCode"/>.</summary>
    public static RouteResult Reject(int statusCode) => new() { StatusCode = statusCode };
}
