using System.Buffers;
using System.Text;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Unicode;
using Gateway.Configuration;
using Gateway.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Integrations;

/// <summary>
/// The <c>http</c> integration: each event of the route is posted to a backend (the Lambda-proxy event, or the raw
/// body), through pooled connections, within a timeout. On <c>$connect</c> a non-2xx answer rejects the handshake with
/// that status and an unreachable backend with 502; on a two-way route a 2xx body goes back to the caller; any
/// failure of a message becomes the caller's "Internal server error" frame.
/// </summary>
public sealed partial class HttpIntegration(
    string routeKey,
    IntegrationOptions options,
    IHttpClientFactory clients,
    IntegrationEndpoint endpoint,
    TimeProvider time,
    ILogger<HttpIntegration> logger) : IRouteHandler
{
    /// <summary>The name of the pooled client all integrations share.</summary>
    public const string ClientName = "Gateway.Integrations";

    private const int MaxAnswerBytes = 16 * 1024 * 1024;
    private readonly Uri _uri = new(options.Uri!);

    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(RouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var connector = options.Envelope == StreamEnvelope.Connector && context.EventType == RouteEventType.Message;
        JsonElement? messageId = null;
        if (connector)
        {
            // The connector protocol acknowledges the message before the backend is asked.
            messageId = ClientMessageId(context);
            var number = context.Connection.MessagesReceived;
            StreamRelay.Send(context.Connection, StreamRelay.ConnectorFrame("ack", messageId, w => w.WriteNumber("message_number", number)));
        }

        HttpResponseMessage response;
        try
        {
            response = await SendAsync(context);
        }
        catch (IntegrationFailedException ex) when (context.EventType == RouteEventType.Connect)
        {
            // A backend that crashed or cannot be reached answers the handshake 502, as Amazon does.
            Log.ConnectFailed(logger, ex, routeKey, context.ConnectionId);
            return RouteResult.Reject(502);
        }

        if (context.EventType == RouteEventType.Message && response.IsSuccessStatusCode && StreamRelay.IsStream(response.Content.Headers.ContentType?.MediaType))
        {
            // The relay runs beside the connection's next messages and owns the response from here.
            _ = RelayAsync(context.Connection, response, connector, messageId);
            return RouteResult.Ok;
        }

        IntegrationAnswer answer;
        using (response)
        {
            var body = await ReadAsync(response.Content);
            answer = IntegrationAnswer.From((int)response.StatusCode, response.Headers, response.Content.Headers, body);
        }

        if (context.EventType == RouteEventType.Connect)
        {
            return answer.IsSuccess ? RouteResult.Accept(answer.SubProtocol) : RouteResult.Reject(answer.StatusCode);
        }

        if (!answer.IsSuccess)
        {
            throw new IntegrationFailedException($"the backend of route {routeKey} answered {answer.StatusCode}");
        }

        if (connector)
        {
            var text = StreamRelay.ChunkText(Encoding.UTF8.GetString(answer.Body), out var usage);
            return RouteResult.Reply(StreamRelay.ConnectorFrame("response", messageId, w =>
            {
                w.WriteString("response", text);
                WriteUsage(w, usage);
            }));
        }

        if (options.ReturnResponse && context.EventType == RouteEventType.Message && answer.Body.Length > 0)
        {
            return Utf8.IsValid(answer.Body) ? RouteResult.Reply(answer.Body) : RouteResult.ReplyBinary(answer.Body);
        }

        return RouteResult.Ok;
    }

    private async Task RelayAsync(Connections.GatewayConnection connection, HttpResponseMessage response, bool connector, JsonElement? messageId)
    {
        var events = 0;
        try
        {
            using (response)
            {
                var serverSentEvents = string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);

                // The client going away ends the relay and, with it, the backend request.
                var closed = connection.Closed;
                await using var body = await response.Content.ReadAsStreamAsync(closed);
                if (connector && !StreamRelay.Send(connection, StreamRelay.ConnectorFrame("stream_start", messageId)))
                {
                    return;
                }

                var full = new StringBuilder();
                JsonElement? usage = null;
                await foreach (var data in StreamRelay.ReadEventsAsync(body, serverSentEvents, closed))
                {
                    events++;
                    if (!connector)
                    {
                        if (!StreamRelay.Send(connection, Encoding.UTF8.GetBytes(data)))
                        {
                            return;
                        }

                        continue;
                    }

                    var chunk = StreamRelay.ChunkText(data, out var eventUsage);
                    usage = eventUsage ?? usage;
                    if (chunk.Length == 0)
                    {
                        continue;
                    }

                    full.Append(chunk);
                    if (!StreamRelay.Send(connection, StreamRelay.ConnectorFrame("stream_chunk", messageId, w => w.WriteString("chunk", chunk))))
                    {
                        return;
                    }
                }

                if (connector)
                {
                    StreamRelay.Send(connection, StreamRelay.ConnectorFrame("stream_end", messageId, w =>
                    {
                        w.WriteString("full_response", full.ToString());
                        WriteUsage(w, usage);
                    }));
                }
            }

            Log.StreamEnded(logger, routeKey, connection.Id, events);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            Log.StreamCut(logger, routeKey, connection.Id, events, ex.Message);
        }
        catch (Exception ex)
        {
            // A background task: nothing above it would see this exception.
            Log.StreamFailed(logger, ex, routeKey, connection.Id);
        }
    }

    private static void WriteUsage(Utf8JsonWriter writer, JsonElement? usage)
    {
        writer.WritePropertyName("token_usage");
        if (usage is { } u)
        {
            u.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    private static JsonElement? ClientMessageId(RouteContext context)
    {
        if (context.IsBinary)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(context.Body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("id", out var id) ? id.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Sends the event and returns once the answer's headers are in; failures before then are retried as configured.</summary>
    private async Task<HttpResponseMessage> SendAsync(RouteContext context)
    {
        var client = clients.CreateClient(ClientName);
        var attempts = 1 + Math.Max(0, options.Retries);
        for (var attempt = 1; ; attempt++)
        {
            // Only the timeout cancels: a message the client sent just before closing still reaches the backend.
            using var timeout = new CancellationTokenSource(options.Timeout, time);
            try
            {
                using var request = BuildRequest(context);
                var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if ((int)response.StatusCode < 500 || attempt >= attempts)
                {
                    return response;
                }

                response.Dispose();
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                if (attempt >= attempts)
                {
                    var why = timeout.IsCancellationRequested ? $"timed out after {options.Timeout}" : ex.Message;
                    throw new IntegrationFailedException($"the backend of route {routeKey} at {_uri} failed: {why}", ex);
                }
            }

            Log.Retrying(logger, routeKey, attempt, attempts);
        }
    }

    private async Task<byte[]> ReadAsync(HttpContent content)
    {
        if (content.Headers.ContentLength > MaxAnswerBytes)
        {
            throw new IntegrationFailedException($"the backend's answer of {content.Headers.ContentLength} bytes is over {MaxAnswerBytes}");
        }

        using var timeout = new CancellationTokenSource(options.Timeout, time);
        try
        {
            return await content.ReadAsByteArrayAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            throw new IntegrationFailedException($"reading the answer of the backend of route {routeKey} failed: {ex.Message}", ex);
        }
    }

    private HttpRequestMessage BuildRequest(RouteContext context)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _uri);
        if (options.RequestFormat == IntegrationRequestFormat.Raw)
        {
            request.Content = new ByteArrayContent(context.Body.ToArray());
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(context.IsBinary ? "application/octet-stream" : "text/plain") { CharSet = context.IsBinary ? null : "utf-8" };
            request.Headers.TryAddWithoutValidation("connectionId", context.ConnectionId);
            request.Headers.TryAddWithoutValidation("routeKey", context.RouteKey);
            request.Headers.TryAddWithoutValidation("requestId", context.RequestId);
            request.Headers.TryAddWithoutValidation("eventType", context.EventType.ToString().ToUpperInvariant());
            return request;
        }

        var buffer = new ArrayBufferWriter<byte>(512 + context.Body.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WebSocketEvent.Write(writer, context, endpoint, time.GetUtcNow());
        }

        request.Content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "Route {RouteKey}: the backend failed on the handshake of {ConnectionId}; answered 502")]
        public static partial void ConnectFailed(ILogger logger, Exception exception, string routeKey, string connectionId);

        [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Route {RouteKey}: attempt {Attempt} of {Attempts} failed; trying again")]
        public static partial void Retrying(ILogger logger, string routeKey, int attempt, int attempts);

        [LoggerMessage(EventId = 1503, Level = LogLevel.Debug, Message = "Route {RouteKey}: the stream to {ConnectionId} ended after {Events} events")]
        public static partial void StreamEnded(ILogger logger, string routeKey, string connectionId, int events);

        [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "Route {RouteKey}: the stream to {ConnectionId} was cut after {Events} events: {Detail}")]
        public static partial void StreamCut(ILogger logger, string routeKey, string connectionId, int events, string detail);

        [LoggerMessage(EventId = 1505, Level = LogLevel.Error, Message = "Route {RouteKey}: the stream to {ConnectionId} failed")]
        public static partial void StreamFailed(ILogger logger, Exception exception, string routeKey, string connectionId);
    }
}
