using System.Text;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Connections;
using Microsoft.Extensions.Logging;

namespace Gateway.Integrations;

/// <summary>
/// Relays a streamed answer (<c>text/event-stream</c> or <c>application/x-ndjson</c>) event by event, as the backend
/// produces it, for LLM-style output: to the caller, or (a route with a stream topic) as <c>message_stream</c> events to
/// the topic's subscribers; in the connector envelope when the route uses it. It runs beside the connection's later
/// messages, so the client can send a cancel mid-stream; it ends, and the backend request is cancelled, when the client
/// goes away, the stream is silent too long, or it runs too long.
/// </summary>
internal sealed partial class StreamRelay(
    string routeKey,
    IntegrationOptions options,
    TimeProvider time,
    Backplane.IGatewayPublisher publisher,
    ILogger logger)
{
    /// <summary>Relays <paramref name="response"/>, which it owns, to the end; ends the connection's stream when done.</summary>
    public async Task RunAsync(GatewayConnection connection, string requestId, HttpResponseMessage response, bool connector, JsonElement? messageId, string? topic)
    {
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
                await using var body = new LengthLimitedStream(await response.Content.ReadAsStreamAsync(stop.Token), HttpIntegration.MaxStreamBytes);
                if (connector && !await EmitAsync(connection, topic, ConnectorEnvelope.Frame("stream_start", messageId), stop.Token))
                {
                    return;
                }

                var full = new StringBuilder();
                JsonElement? usage = null;
                await foreach (var data in StreamEventReader.ReadEventsAsync(body, serverSentEvents, stop.Token))
                {
                    events++;
                    idle.CancelAfter(options.StreamIdleTimeout);
                    if (!connector)
                    {
                        if (!await EmitAsync(connection, topic, Encoding.UTF8.GetBytes(data), stop.Token))
                        {
                            return;
                        }

                        continue;
                    }

                    var chunk = ConnectorEnvelope.ChunkText(data, out var eventUsage);
                    usage = eventUsage ?? usage;
                    if (chunk.Length == 0)
                    {
                        continue;
                    }

                    full.Append(chunk);
                    if (!await EmitAsync(connection, topic, ConnectorEnvelope.Frame("stream_chunk", messageId, w => w.WriteString("chunk", chunk)), stop.Token))
                    {
                        return;
                    }
                }

                if (connector)
                {
                    await EmitAsync(connection, topic, ConnectorEnvelope.Frame("stream_end", messageId, w =>
                    {
                        w.WriteString("full_response", full.ToString());
                        ConnectorEnvelope.WriteUsage(w, usage);
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
                ? ConnectorEnvelope.Frame("error", messageId, w =>
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

    /// <summary>
    /// Sends one relayed frame: to the caller, or (a stream to a topic) as a <c>message_stream</c> event to the topic's
    /// subscribers. False when the caller is gone.
    /// </summary>
    private async ValueTask<bool> EmitAsync(GatewayConnection connection, string? topic, byte[] frame, CancellationToken cancellationToken)
    {
        if (topic is null)
        {
            return await SendAsync(connection, frame, cancellationToken);
        }

        var data = Topics.TopicData.IsValid(frame) ? frame : Protocol.FrameJson.StringValue(frame);
        await publisher.PublishAsync(topic, "message_stream", data, cancellationToken);
        return !connection.Closed.IsCancellationRequested;
    }

    /// <summary>Sends a frame to the caller, waiting for room in its queue (the relay goes at the caller's pace); false when the caller is gone.</summary>
    private static async ValueTask<bool> SendAsync(GatewayConnection connection, byte[] utf8, CancellationToken cancellationToken) =>
        await connection.SendAsync(OutboundMessage.Text(utf8), cancellationToken) == SendResult.Sent;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1503, Level = LogLevel.Debug, Message = "{Route}: the stream to {ConnectionId} ended after {Events} events")]
        public static partial void StreamEnded(ILogger logger, string route, string connectionId, int events);

        [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "{Route}: the stream to {ConnectionId} was cut after {Events} events: {Detail}")]
        public static partial void StreamCut(ILogger logger, string route, string connectionId, int events, string detail);

        [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "{Route}: the stream to {ConnectionId} from {SourceIp} broke off after {Events} events")]
        public static partial void StreamFailed(ILogger logger, Exception exception, string route, string connectionId, string sourceIp, int events);
    }
}
