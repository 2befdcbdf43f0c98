using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Diagnostics;
using Gateway.Protocol;
using Gateway.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Topics;

/// <summary>
/// The built-in <c>publish</c> command (<see cref="PublishCommand"/>), served while <c>Topics:ClientPublish</c> names
/// topics: a client publishes to one concrete topic that an entry's pattern matches and that it may subscribe to,
/// within the entry's rate. The event goes out as a publish of the management API does (every node, the history, the
/// event bus), its frames carrying <c>"from":{"connectionId","userId"}</c>. Answers
/// <c>{"type":"published","channel","offset"?,"epoch"?,"id"}</c> (offset and epoch where the topic keeps history) or
/// <c>{"type":"publish_failed","channel"?,"reason","message","id"}</c>, the reason one of <c>invalid</c>,
/// <c>too_large</c>, <c>not_allowed</c>, <c>rate_limited</c>, <c>unavailable</c>.
/// </summary>
public sealed partial class PublishHandler(
    IOptionsMonitor<GatewayOptions> options,
    TopicAuthorizer authorizer,
    GatewayPublisher publisher,
    TimeProvider time,
    ILogger<PublishHandler> logger,
    GatewayMetrics? metrics = null) : IGatewayRouteHandler
{
    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var gateway = options.CurrentValue;
        var topics = gateway.Topics;
        var connection = context.Connection;
        var command = PublishCommand.Parse(context.Body);
        if (command.Problem is { } problem)
        {
            return Refuse("invalid", problem, command, command.Channel);
        }

        var channel = command.Channel!;
        if (!TopicName.IsValidName(channel, topics.MaxTopicLength))
        {
            return Refuse("invalid", $"a publish needs the channel of one topic: dot-separated segments without wildcards, at most {topics.MaxTopicLength} characters", command, channel);
        }

        var data = command.Data!;
        var limit = gateway.Management.MaxPayloadBytes;
        if (data.Length > limit)
        {
            return Refuse("too_large", $"the data is {data.Length} bytes; at most {limit} may be published", command, channel);
        }

        var rule = RuleOf(topics.ClientPublish, channel);
        if (rule < 0)
        {
            return Refuse("not_allowed", "clients may not publish to " + channel, command, channel);
        }

        var buckets = connection.Features.GetOrAdd(static () => new ClientPublishBuckets());
        var rate = topics.ClientPublish[rule].RatePerSecond;
        if (!buckets.TryTake(rule, rate, time, time.GetTimestamp()))
        {
            return Refuse("rate_limited", $"at most {rate.ToString(System.Globalization.CultureInfo.InvariantCulture)} publishes a second to {topics.ClientPublish[rule].Pattern}", command, channel);
        }

        switch (await authorizer.AuthorizeAsync(connection, channel, context.ConnectionClosed))
        {
            case TopicDecision.Denied:
                return Refuse("not_allowed", "this connection may not subscribe to " + channel + ", so it may not publish there", command, channel);
            case TopicDecision.Failed:
                return Refuse("unavailable", "the publish could not be authorized", command, channel);
        }

        HistoryPosition? position;
        try
        {
            position = await publisher.PublishAsync(channel, command.Type!, data, new EventOrigin(connection.Id, connection.UserId), context.ConnectionClosed);
        }
        catch (BackplaneUnavailableException)
        {
            return Refuse("unavailable", "the event cannot be carried to the other nodes right now", command, channel);
        }
        catch (NotSupportedException)
        {
            // A backplane of its own that cannot carry who published an event.
            return Refuse("unavailable", "this gateway's backplane cannot carry who published an event", command, channel);
        }

        metrics?.ClientPublish("published");
        Log.Published(logger, connection.Id, channel, command.Type!);
        return RouteResult.Reply(ClientFrames.Typed("published", command.Id, w =>
        {
            w.WriteString("channel", channel);
            if (position is not null)
            {
                w.WriteNumber("offset", position.Offset);
                if (position.Epoch.Length > 0)
                {
                    w.WriteString("epoch", position.Epoch);
                }
            }
        }));

        RouteResult Refuse(string reason, string message, PublishCommand refused, string? topic)
        {
            metrics?.ClientPublish(reason);

            // A refusal that points at the client's own input or rate is debug: a client repeating it must not fill the
            // log. The channel of such a refusal may be anything the client sent: it is shown cut short and printable.
            if (reason is "not_allowed" or "unavailable")
            {
                // The channel is a valid topic name by then.
                Log.Refused(logger, connection.Id, topic ?? "", reason, message);
            }
            else if (logger.IsEnabled(LogLevel.Debug))
            {
                var shown = LogText.Printable(topic ?? "");
                var problem = LogText.Printable(message, 300);
                Log.RefusedInput(logger, connection.Id, shown, reason, problem);
            }

            return RouteResult.Reply(ClientFrames.Typed("publish_failed", refused.Id, w =>
            {
                if (topic is not null)
                {
                    w.WriteString("channel", topic);
                }

                w.WriteString("reason", reason);
                w.WriteString("message", message);
            }));
        }
    }

    /// <summary>The position of the first entry whose pattern matches <paramref name="channel"/>, or -1.</summary>
    private static int RuleOf(IList<ClientPublishOptions> rules, string channel)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            if (TopicName.IsValidPattern(rules[i].Pattern, int.MaxValue) && TopicName.Matches(rules[i].Pattern, channel))
            {
                return i;
            }
        }

        return -1;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1720, Level = LogLevel.Debug, Message = "Connection {ConnectionId} published {Type} to {Channel}")]
        public static partial void Published(ILogger logger, string connectionId, string channel, string type);

        [LoggerMessage(EventId = 1721, Level = LogLevel.Information, Message = "A publish of connection {ConnectionId} to {Channel} was refused ({Reason}: {Problem})")]
        public static partial void Refused(ILogger logger, string connectionId, string channel, string reason, string problem);

        [LoggerMessage(EventId = 1722, Level = LogLevel.Debug, Message = "A publish of connection {ConnectionId} to {Channel} was refused ({Reason}: {Problem})")]
        public static partial void RefusedInput(ILogger logger, string connectionId, string channel, string reason, string problem);
    }
}
