using Gateway.Configuration;
using Gateway.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Gateway.Protocol;

namespace Gateway.Topics;

/// <summary>
/// The built-in <c>subscribe</c> command. Answers <c>{"type":"subscribed","channel":…,"id":…}</c> (with <c>epoch</c>,
/// <c>offset</c> and, when <c>since</c> was sent, <c>recovered</c>, on topics with history, followed by the missed events),
/// or an error frame: <c>invalid_request</c> (no or malformed channel), <c>subscription_failed</c> (too long, or too
/// many subscriptions), <c>unauthorized</c>, <c>internal_error</c> (the subscribe authorizer failed).
/// </summary>
public sealed partial class SubscribeHandler(IOptions<GatewayOptions> options, TopicHub hub, TopicAuthorizer authorizer, Backplane.IBackplane backplane, ILogger<SubscribeHandler> logger) : IGatewayRouteHandler
{
    private readonly TopicsOptions _options = options.Value.Topics;

    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var command = TopicCommand.Parse(context.Body);
        if (!command.Valid)
        {
            return Error("invalid_request", "a subscribe is a JSON object; since is {\"offset\": n, \"epoch\": \"...\"}", command);
        }

        if (command.Channel is not { } channel || string.IsNullOrEmpty(channel))
        {
            return Error("invalid_request", "subscribe needs a channel", command);
        }

        if (channel.Length > _options.MaxTopicLength)
        {
            return Error("subscription_failed", $"channel names are at most {_options.MaxTopicLength} characters", command);
        }

        if (!TopicName.IsValidPattern(channel, _options.MaxTopicLength))
        {
            return Error("invalid_request", "a channel is dot-separated segments, with * for one segment and > (last) for the rest", command);
        }

        var connection = context.Connection;
        switch (await authorizer.AuthorizeAsync(connection, channel, context.ConnectionClosed))
        {
            case TopicDecision.Denied:
                Log.Unauthorized(logger, connection.Id, channel);
                return Error("unauthorized", "this connection may not subscribe to " + channel, command);
            case TopicDecision.Failed:
                return Error("internal_error", "the subscription could not be authorized", command);
        }

        if (!await SharedHistoryReads.EnsureLoadedAsync(hub, backplane, channel, context.ConnectionClosed))
        {
            return Error("internal_error", "the topic's history cannot be read right now", command);
        }

        var subscribed = hub.Subscribe(connection, channel, command.Since, position => ClientFrames.Typed("subscribed", command.Id, w =>
        {
            w.WriteString("channel", channel);
            if (position is null && command.Since is not null)
            {
                // No history to recover from (a pattern, or a topic that keeps none).
                w.WriteBoolean("recovered", false);
            }
            else if (position is not null)
            {
                w.WriteString("epoch", position.Epoch);
                w.WriteNumber("offset", position.Offset);
                if (position.Recovered is { } recovered)
                {
                    w.WriteBoolean("recovered", recovered);
                }
            }
        }));
        return subscribed
            ? RouteResult.Ok
            : Error("subscription_failed", $"a connection may hold at most {_options.MaxSubscriptionsPerConnection} subscriptions", command);
    }

    private static RouteResult Error(string code, string message, TopicCommand command) =>
        RouteResult.Reply(ClientFrames.Error(code, message, command.Id));

    private static partial class Log
    {
        [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "Connection {ConnectionId} may not subscribe to {Channel}")]
        public static partial void Unauthorized(ILogger logger, string connectionId, string channel);
    }
}
