using System.Globalization;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Management;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

/// <summary>
/// The Server-Sent Events fallback: <c>GET /sse</c> (or <c>/{Stage}/sse</c>) is admitted exactly as a WebSocket
/// handshake is (<see cref="ClientLifecycle.AdmitAsync"/>) and answered with an event stream that carries every frame;
/// the client sends with <c>POST</c>s to the send URL of its connected event, numbered by <c>seq</c>, which any node
/// takes and hands to the node that holds the stream; <c>DELETE</c> of that URL closes the connection.
/// </summary>
public sealed class SseEndpoints(
    IOptions<GatewayOptions> options,
    ClientLifecycle clients,
    GatewayListeners listeners,
    ConnectionSender sender,
    ResumeTokens tokens,
    ConnectionRuntime runtime,
    GatewayNode node)
{
    // Built once, as the WebSocket handshake's allowed origins are: a change takes a restart.
    private readonly HashSet<string> _allowedOrigins = new(options.Value.Sse.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    /// <summary>The URL a client posts its messages to: relative to the gateway, its key in the query.</summary>
    public static string SendUrl(string? stage, string connectionId, string key) =>
        (stage is null ? "" : "/" + stage) + "/" + SseOptionsValidator.PathSegment + "/" + connectionId + "?key=" + key;

    /// <summary>Serves <c>GET /sse</c>: the admission, then the event stream until the connection ends.</summary>
    public async Task StreamAsync(HttpContext context, string? stage)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Serves(context) || !AllowOrigin(context))
        {
            return;
        }

        var step = new TransportStep(
            (connection, _, received) => OpenAsync(context, connection, received),
            // An EventSource's own reconnect names the session by Last-Event-ID; a client that manages its reconnects
            // may resume as over a WebSocket, with its resume token (a session opened on either transport resumes on either).
            auth => LastEventId(context.Request) is { Length: > 0 } last ? ResumeAsk.OfLastEventId(tokens, last, auth.Identity?.UserId)
                : context.Request.Query["resume"] is { Count: > 0 } token ? ResumeAsk.OfToken(tokens, token.ToString(), context.Request.Query["received"].ToString(), runtime.Time.GetUtcNow())
                : null,
            OriginAllowed: _ => true, // checked above, with the answer's CORS headers
            TakesFirstMessage: false);
        if (await clients.AdmitAsync(context, stage, step) is { } session)
        {
            await clients.RunAsync(session);
        }
    }

    /// <summary>Serves <c>POST {sendUrl}&amp;seq=n</c>: one message of the client, taken in order by the node that holds its stream.</summary>
    public async Task PostAsync(HttpContext context, string connectionId)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Serves(context) || !AllowOrigin(context) || !await CheckKeyAsync(context, connectionId))
        {
            return;
        }

        if (!long.TryParse(context.Request.Query["seq"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq < 1)
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, "seq must be the message's sequence number: 1, 2, 3 …");
            return;
        }

        var max = runtime.Options.MaxMessageBytes;
        if (await ReadBodyAsync(context.Request, max) is not { } body)
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ManagementErrors.PayloadTooLarge, $"a message is at most {max} bytes");
            return;
        }

        var binary = MediaTypeIs(context.Request.ContentType, "application/octet-stream");
        if (!binary && !System.Text.Unicode.Utf8.IsValid(body))
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, "a text message must be valid UTF-8 (send binary as application/octet-stream)");
            return;
        }

        var answer = await sender.PostAsync(connectionId, seq, body, binary, close: false, context.RequestAborted);
        switch (answer.Outcome)
        {
            case SsePostOutcome.Accepted:
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                break;
            case SsePostOutcome.Duplicate:
                context.Response.StatusCode = StatusCodes.Status202Accepted;
                context.Response.Headers["Gateway-Duplicate"] = "true";
                break;
            case SsePostOutcome.OutOfOrder:
                context.Response.StatusCode = StatusCodes.Status409Conflict;
                context.Response.Headers["x-amzn-ErrorType"] = ManagementErrors.Conflict;
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(OutOfOrderBody(seq, answer.ExpectedSeq), context.RequestAborted);
                break;
            default:
                await WriteRefusalAsync(context, answer.Outcome);
                break;
        }
    }

    /// <summary>Serves <c>DELETE {sendUrl}</c>: the client closes its connection (1000), after the messages it posted before.</summary>
    public async Task DeleteAsync(HttpContext context, string connectionId)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Serves(context) || !AllowOrigin(context) || !await CheckKeyAsync(context, connectionId))
        {
            return;
        }

        var answer = await sender.PostAsync(connectionId, 0, [], binary: false, close: true, context.RequestAborted);
        var outcome = answer.Outcome;
        if (outcome == SsePostOutcome.Reconnecting)
        {
            // A session that waits for its stream ends at once.
            outcome = await sender.DisconnectAsync(connectionId, CloseCodes.Normal, "Closed by the client", context.RequestAborted) ? SsePostOutcome.Closing : SsePostOutcome.Gone;
        }

        if (outcome == SsePostOutcome.Closing)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await WriteRefusalAsync(context, outcome);
    }

    /// <summary>Serves the preflight of a cross-origin post or stream request.</summary>
    public void Preflight(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Serves(context) || !AllowOrigin(context))
        {
            return;
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowMethods = "GET, POST, DELETE";
        headers.AccessControlAllowHeaders = "Content-Type, Authorization, Last-Event-ID";
        headers.AccessControlMaxAge = "600";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private bool Serves(HttpContext context)
    {
        if (options.Value.Sse.Enabled && listeners.Accepts(context, GatewayListenerKind.Client))
        {
            return true;
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return false;
    }

    /// <summary>
    /// CORS: with <c>Sse:AllowedOrigins</c> set, a page of a listed origin (or of the gateway's own) is answered with the
    /// CORS headers, credentials included, and any other origin 403. Without it nothing is refused and no CORS header is
    /// sent: browsers then keep other origins' pages out by themselves.
    /// </summary>
    private bool AllowOrigin(HttpContext context)
    {
        if (_allowedOrigins.Count == 0 || context.Request.Headers.Origin.ToString() is not { Length: > 0 } origin)
        {
            return true;
        }

        var own = context.Request.Scheme + "://" + context.Request.Host.Value;
        if (!_allowedOrigins.Contains(origin.TrimEnd('/')) && !string.Equals(origin, own, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers["x-amzn-ErrorType"] = ManagementErrors.Forbidden;
            return false;
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        headers.AccessControlAllowCredentials = "true";
        headers.AccessControlExposeHeaders = "Gateway-Duplicate, Retry-After, x-amzn-ErrorType";
        headers.Vary = "Origin";
        return true;
    }

    private async Task<bool> CheckKeyAsync(HttpContext context, string connectionId)
    {
        if (!ConnectionId.IsWellFormed(connectionId))
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status404NotFound, ManagementErrors.NotFound, "no such connection URL");
            return false;
        }

        // Another connection's URL (or none's) is answered as an unknown one: whether that connection exists is not told.
        if (!tokens.IsConnectionKey(connectionId, context.Request.Query["key"].ToString()))
        {
            await ManagementErrors.WriteAsync(context, StatusCodes.Status404NotFound, ManagementErrors.NotFound, "no such connection URL");
            return false;
        }

        return true;
    }

    private static Task WriteRefusalAsync(HttpContext context, SsePostOutcome outcome)
    {
        switch (outcome)
        {
            case SsePostOutcome.Busy:
                context.Response.Headers.RetryAfter = "1";
                return ManagementErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, ManagementErrors.LimitExceeded, "the connection's earlier messages are still being applied; post again");
            case SsePostOutcome.Reconnecting:
                context.Response.Headers.RetryAfter = "1";
                return ManagementErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ManagementErrors.ServiceUnavailable, "the connection's stream is reconnecting; post again once it is back");
            case SsePostOutcome.Unavailable:
                context.Response.Headers.RetryAfter = "1";
                return ManagementErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ManagementErrors.ServiceUnavailable, "the node holding the connection cannot be reached right now");
            default:
                return ManagementErrors.WriteAsync(context, StatusCodes.Status410Gone, ManagementErrors.Gone, "the connection is gone");
        }
    }

    private async Task<ClientTransport> OpenAsync(HttpContext context, GatewayConnection connection, long received)
    {
        // A stream lives far beyond any minimum data rate; a client that reads too slowly is a slow consumer, as on a WebSocket.
        if (context.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinResponseDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        if (connection.FeatureOrNull<SseSession>() is not { } session)
        {
            session = new SseSession();
            connection.Features.Set(session);
        }

        var transport = new SseTransport(response.BodyWriter, connection.Id, node.Id, tokens.ConnectionKey(connection.Id), received, options.Value.Sse.KeepAliveInterval, runtime.Time, context.Abort, context.RequestAborted);
        session.Attach(transport);
        await response.StartAsync(context.RequestAborted);
        await response.BodyWriter.FlushAsync(context.RequestAborted);
        return transport;
    }

    private static byte[] OutOfOrderBody(long seq, long expected)
    {
        using var frame = Protocol.FrameJson.Start();
        frame.Json.WriteStartObject();
        frame.Json.WriteString("message", $"seq {seq} skips ahead: the next message expected is {expected}");
        frame.Json.WriteNumber("expectedSeq", expected);
        frame.Json.WriteEndObject();
        return frame.ToArray();
    }

    private static string? LastEventId(HttpRequest request) =>
        request.Headers["Last-Event-ID"] is { Count: > 0 } header ? header.ToString() : request.Query["lastEventId"] is { Count: > 0 } query ? query.ToString() : null;

    private static bool MediaTypeIs(string? contentType, string mediaType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals(mediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>The body, or null when it is over <paramref name="max"/> bytes (read no further than that).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int max)
    {
        if (request.ContentLength > max)
        {
            return null;
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max + 1L;
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 256);
        var chunk = new byte[Math.Min(16 * 1024, max + 1)];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }

        return buffer.ToArray();
    }
}
