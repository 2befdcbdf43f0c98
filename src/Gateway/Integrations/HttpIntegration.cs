using System.Text;
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
    Backplane.IGatewayPublisher publisher,
    Topics.TopicAuthorizer topicAuthorizer,
    Microsoft.Extensions.Options.IOptions<GatewayOptions> gatewayOptions,
    Diagnostics.GatewayMetrics metrics,
    ILogger<HttpIntegration> logger) : IGatewayRouteHandler
{
    /// <summary>Largest plain answer a backend may give.</summary>
    public const int MaxAnswerBytes = 16 * 1024 * 1024;

    /// <summary>Largest stream a backend may relay, all events together.</summary>
    public const long MaxStreamBytes = 64L * 1024 * 1024;

    // The backend call and the relay log under this integration's category, as they did when they were part of it.
    private readonly HttpBackend _backend = new(routeKey, options, clients, endpoint, time, metrics, logger);
    private readonly StreamRelay _relay = new(routeKey, options, time, publisher, logger);
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
            messageId = ConnectorEnvelope.MessageIdOf(context);
            var number = context.Connection.MessagesReceived;
            context.Connection.TrySendText(ConnectorEnvelope.Frame("ack", messageId, w => w.WriteNumber("message_number", number)));
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
        var response = await _backend.SendAsync(context, deadline);
        if (context.EventType == RouteEventType.Message && response.IsSuccessStatusCode && StreamEventReader.IsStream(response.Content.Headers.ContentType?.MediaType))
        {
            if (!context.Connection.TryBeginStream(options.MaxStreamsPerConnection))
            {
                response.Dispose();
                throw new IntegrationFailedException($"connection {context.ConnectionId} already has {options.MaxStreamsPerConnection} streams running");
            }

            // The relay runs on its own, beside the connection's next messages, and owns the response from here.
            var connection = context.Connection;
            var requestId = context.RequestId;
            _ = Task.Run(() => _relay.RunAsync(connection, requestId, response, connector, messageId, streamTopic));
            return RouteResult.Ok;
        }

        var answer = await _backend.ReadAnswerAsync(response, deadline);
        if (!answer.IsSuccess)
        {
            throw new IntegrationFailedException($"the backend of route {routeKey} answered {answer.StatusCode}");
        }

        if (connector)
        {
            var text = ConnectorEnvelope.ChunkText(Encoding.UTF8.GetString(answer.Body), out var usage);
            return RouteResult.Reply(ConnectorEnvelope.Frame("response", messageId, w =>
            {
                w.WriteString("response", text);
                ConnectorEnvelope.WriteUsage(w, usage);
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
            var answer = await _backend.ReadAnswerAsync(await _backend.SendAsync(context, deadline), deadline);
            if (!answer.IsSuccess)
            {
                return RouteResult.Reject(answer.StatusCode);
            }

            // {"connected": {…}, "presenceInfo": …}: members for the connected frame and the connection's presence info.
            var (connected, presenceInfo) = ConnectAnswer.Read(answer.Body);
            return RouteResult.Accept(answer.SubProtocol) with { Connected = connected, PresenceInfo = presenceInfo };
        }
        catch (Exception ex)
        {
            // A backend that crashed, cannot be reached, or broke off its answer: 502, as Amazon answers.
            Log.ConnectFailed(logger, ex, routeKey, context.ConnectionId, context.Connection.SourceIp);
            return RouteResult.Reject(502);
        }
    }

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

    private static partial class Log
    {
        [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "{Route}: the backend failed on the handshake of {ConnectionId} from {SourceIp}; answered 502")]
        public static partial void ConnectFailed(ILogger logger, Exception exception, string route, string connectionId, string sourceIp);
    }
}
