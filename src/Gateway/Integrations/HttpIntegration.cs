using System.Buffers;
using System.Text;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Unicode;
using Gateway.Configuration;
using Gateway.Routing;
using Microsoft.Extensions.Logging;
using Gateway.Protocol;

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
    GatewayIdentity endpoint,
    TimeProvider time,
    Topics.IGatewayPublisher publisher,
    Topics.TopicAuthorizer topicAuthorizer,
    Microsoft.Extensions.Options.IOptions<GatewayOptions> gatewayOptions,
    Diagnostics.GatewayMetrics metrics,
    ILogger<HttpIntegration> logger) : IGatewayRouteHandler
{
    /// <summary>The name of the pooled client all integrations share.</summary>
    public const string ClientName = "Gateway.Integrations";

    /// <summary>Largest plain answer a backend may give.</summary>
    public const int MaxAnswerBytes = 16 * 1024 * 1024;

    /// <summary>Largest stream a backend may relay, all events together.</summary>
    public const long MaxStreamBytes = 64L * 1024 * 1024;
    private readonly Uri _uri = new(options.Uri!);
    private readonly int maxTopicLength = gatewayOptions.Value.Topics.MaxTopicLength;

    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.EventType == RouteEventType.Connect)
        {
            return await ConnectAsync(context);
        }

        var connector = options.Envelope == StreamEnvelope.Connector && context.EventType == RouteEventType.Message;
        JsonElement? messageId = null;
        if (connector)
        {
            // The connector protocol acknowledges the message before the backend is asked.
            messageId = ClientMessageId(context);
            var number = context.Connection.MessagesReceived;
            context.Connection.TrySendText(StreamRelay.ConnectorFrame("ack", messageId, w => w.WriteNumber("message_number", number)));
        }

        string? streamTopic = null;
        if (options.StreamTopic is { Length: > 0 } template && context.EventType == RouteEventType.Message)
        {
            streamTopic = StreamTopicOf(template, context);
            var refusal = streamTopic is null
                ? ClientFrames.Error("invalid_request", $"this route streams to {template}; the message must name every part of it", default)
                : await topicAuthorizer.AuthorizeAsync(context.Connection, streamTopic, context.ConnectionClosed) switch
                {
                    Topics.TopicDecision.Denied => ClientFrames.Error("unauthorized", "this connection may not stream to " + streamTopic, default),
                    Topics.TopicDecision.Failed => ClientFrames.Error("internal_error", "the stream's topic could not be authorized", default),
                    _ => null,
                };
            if (refusal is not null)
            {
                return RouteResult.Reply(refusal);
            }
        }

        // One deadline covers the whole call: sending, the answer's headers, and a plain answer's body.
        using var deadline = new CancellationTokenSource(options.Timeout, time);
        var response = await SendAsync(context, deadline);
        if (context.EventType == RouteEventType.Message && response.IsSuccessStatusCode && StreamRelay.IsStream(response.Content.Headers.ContentType?.MediaType))
        {
            if (!context.Connection.TryBeginStream(options.MaxStreamsPerConnection))
            {
                response.Dispose();
                throw new IntegrationFailedException($"connection {context.ConnectionId} already has {options.MaxStreamsPerConnection} streams running");
            }

            // The relay runs on its own, beside the connection's next messages, and owns the response from here.
            var relay = new Relay(context.Connection, context.RequestId, response, connector, messageId, streamTopic);
            _ = Task.Run(() => RelayAsync(relay));
            return RouteResult.Ok;
        }

        var answer = await ReadAnswerAsync(response, deadline);
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

    private async Task<RouteResult> ConnectAsync(GatewayRouteContext context)
    {
        try
        {
            using var deadline = new CancellationTokenSource(options.Timeout, time);
            var answer = await ReadAnswerAsync(await SendAsync(context, deadline), deadline);
            return answer.IsSuccess ? RouteResult.Accept(answer.SubProtocol) : RouteResult.Reject(answer.StatusCode);
        }
        catch (Exception ex)
        {
            // A backend that crashed, cannot be reached, or broke off its answer: 502, as Amazon answers.
            Log.ConnectFailed(logger, ex, routeKey, context.ConnectionId, context.Connection.SourceIp);
            return RouteResult.Reject(502);
        }
    }

    /// <summary>A stream being relayed to one connection.</summary>
    private sealed record Relay(Connections.GatewayConnection Connection, string RequestId, HttpResponseMessage Response, bool Connector, JsonElement? MessageId, string? Topic);

    private string? StreamTopicOf(string template, GatewayRouteContext context)
    {
        if (context.IsBinary)
        {
            return null;
        }

        try
        {
            using var message = JsonDocument.Parse(context.Body);
            var root = message.RootElement;
            var topic = Topics.TopicTemplate.Fill(template, name => Topics.TopicTemplate.ValueOf(root, name));
            return topic is not null && Topics.TopicName.IsValidName(topic, maxTopicLength) ? topic : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Sends one relayed frame: to the caller, or (a stream to a topic) as a <c>message_stream</c> event to the topic's
    /// subscribers. False when the caller is gone.
    /// </summary>
    private async ValueTask<bool> EmitAsync(Relay relay, byte[] frame, CancellationToken cancellationToken)
    {
        if (relay.Topic is null)
        {
            return await StreamRelay.SendAsync(relay.Connection, frame, cancellationToken);
        }

        var data = Topics.TopicData.IsValid(frame) ? frame : Protocol.FrameJson.StringValue(frame);
        await publisher.PublishAsync(relay.Topic, "message_stream", data, cancellationToken);
        return !relay.Connection.Closed.IsCancellationRequested;
    }

    private async Task RelayAsync(Relay relay)
    {
        var (connection, requestId, response, connector, messageId, _) = relay;
        var events = 0;
        var closed = connection.Closed;

        // The client going away, silence for StreamIdleTimeout, or MaxStreamDuration ends the relay and the backend request.
        using var idle = new CancellationTokenSource(options.StreamIdleTimeout, time);
        using var total = new CancellationTokenSource(options.MaxStreamDuration, time);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(closed, idle.Token, total.Token);
        try
        {
            using (response)
            {
                var serverSentEvents = string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
                await using var body = new LengthLimitedStream(await response.Content.ReadAsStreamAsync(stop.Token), MaxStreamBytes);
                if (connector && !await EmitAsync(relay, StreamRelay.ConnectorFrame("stream_start", messageId), stop.Token))
                {
                    return;
                }

                var full = new StringBuilder();
                JsonElement? usage = null;
                await foreach (var data in StreamRelay.ReadEventsAsync(body, serverSentEvents, stop.Token))
                {
                    events++;
                    idle.CancelAfter(options.StreamIdleTimeout);
                    if (!connector)
                    {
                        if (!await EmitAsync(relay, Encoding.UTF8.GetBytes(data), stop.Token))
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
                    if (!await EmitAsync(relay, StreamRelay.ConnectorFrame("stream_chunk", messageId, w => w.WriteString("chunk", chunk)), stop.Token))
                    {
                        return;
                    }
                }

                if (connector)
                {
                    await EmitAsync(relay, StreamRelay.ConnectorFrame("stream_end", messageId, w =>
                    {
                        w.WriteString("full_response", full.ToString());
                        WriteUsage(w, usage);
                    }), stop.Token);
                }
            }

            Log.StreamEnded(logger, routeKey, connection.Id, events);
        }
        catch (Exception ex) when (closed.IsCancellationRequested && ex is OperationCanceledException or IOException or HttpRequestException)
        {
            Log.StreamCut(logger, routeKey, connection.Id, events, "the client left");
        }
        catch (Exception ex)
        {
            // Cut short by the backend or a limit: the client is told, so it does not wait for an end that never comes.
            Log.StreamFailed(logger, ex, routeKey, connection.Id, connection.SourceIp, events);
            connection.TrySendText(connector
                ? StreamRelay.ConnectorFrame("error", messageId, w =>
                {
                    w.WriteString("code", "internal_error");
                    w.WriteString("message", "The stream ended early.");
                })
                : Routing.MessageDispatcher.ErrorFrame("Internal server error", connection.Id, requestId));
        }
        finally
        {
            connection.EndStream();
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

    private static JsonElement? ClientMessageId(GatewayRouteContext context)
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
    private async Task<HttpResponseMessage> SendAsync(GatewayRouteContext context, CancellationTokenSource deadline)
    {
        var started = Diagnostics.GatewayMetrics.Start();
        var success = false;
        try
        {
            var response = await SendWithRetriesAsync(context, deadline);
            success = response.IsSuccessStatusCode;
            return response;
        }
        finally
        {
            metrics.Integration(routeKey, success, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(GatewayRouteContext context, CancellationTokenSource deadline)
    {
        var client = clients.CreateClient(ClientName);
        var attempts = 1 + Math.Max(0, options.Retries);
        for (var attempt = 1; ; attempt++)
        {
            // Only the deadline cancels: a message the client sent just before closing still reaches the backend.
            try
            {
                using var request = BuildRequest(context);
                var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                if ((int)response.StatusCode < 500 || attempt >= attempts)
                {
                    return response;
                }

                response.Dispose();
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                if (attempt >= attempts || deadline.IsCancellationRequested)
                {
                    var why = deadline.IsCancellationRequested ? $"timed out after {options.Timeout}" : ex.Message;
                    throw new IntegrationFailedException($"the backend of route {routeKey} at {_uri} failed: {why}", ex);
                }
            }

            Log.Retrying(logger, routeKey, attempt, attempts);
        }
    }

    /// <summary>Reads a plain answer whole, within the call's deadline and <see cref="MaxAnswerBytes"/>, however it is framed.</summary>
    private async Task<IntegrationAnswer> ReadAnswerAsync(HttpResponseMessage response, CancellationTokenSource deadline)
    {
        using (response)
        {
            try
            {
                if (response.Content.Headers.ContentLength > MaxAnswerBytes)
                {
                    throw new IntegrationFailedException($"the backend's answer of {response.Content.Headers.ContentLength} bytes is over {MaxAnswerBytes}");
                }

                await using var body = new LengthLimitedStream(await response.Content.ReadAsStreamAsync(deadline.Token), MaxAnswerBytes);
                using var copy = new MemoryStream();
                await body.CopyToAsync(copy, deadline.Token);
                return IntegrationAnswer.From((int)response.StatusCode, response.Headers, response.Content.Headers, copy.ToArray());
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
            {
                var why = deadline.IsCancellationRequested ? $"timed out after {options.Timeout}" : ex.Message;
                throw new IntegrationFailedException($"reading the answer of the backend of route {routeKey} failed: {why}", ex);
            }
        }
    }

    private HttpRequestMessage BuildRequest(GatewayRouteContext context)
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
        using (var writer = new Utf8JsonWriter(buffer, Protocol.FrameJson.WriterOptions))
        {
            WebSocketEvent.Write(writer, context, endpoint, time.GetUtcNow());
        }

        request.Content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "{Route}: the backend failed on the handshake of {ConnectionId} from {SourceIp}; answered 502")]
        public static partial void ConnectFailed(ILogger logger, Exception exception, string route, string connectionId, string sourceIp);

        [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "{Route}: attempt {Attempt} of {Attempts} failed; trying again")]
        public static partial void Retrying(ILogger logger, string route, int attempt, int attempts);

        [LoggerMessage(EventId = 1503, Level = LogLevel.Debug, Message = "{Route}: the stream to {ConnectionId} ended after {Events} events")]
        public static partial void StreamEnded(ILogger logger, string route, string connectionId, int events);

        [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "{Route}: the stream to {ConnectionId} was cut after {Events} events: {Detail}")]
        public static partial void StreamCut(ILogger logger, string route, string connectionId, int events, string detail);

        [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "{Route}: the stream to {ConnectionId} from {SourceIp} broke off after {Events} events")]
        public static partial void StreamFailed(ILogger logger, Exception exception, string route, string connectionId, string sourceIp, int events);
    }
}
