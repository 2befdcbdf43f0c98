using Gateway.Routing;
using Gateway.Protocol;

namespace Gateway.Topics;

/// <summary>The built-in <c>unsubscribe</c> command: <c>{"type":"unsubscribed","channel":…,"id":…}</c>, also when it was not subscribed.</summary>
public sealed class UnsubscribeHandler(TopicHub hub) : IGatewayRouteHandler
{
    /// <inheritdoc />
    public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var command = TopicCommand.Parse(context.Body);
        if (string.IsNullOrEmpty(command.Channel))
        {
            return ValueTask.FromResult(RouteResult.Reply(ClientFrames.Error("invalid_request", "unsubscribe needs a channel", command.Id)));
        }

        hub.Unsubscribe(context.Connection, command.Channel);
        return ValueTask.FromResult(RouteResult.Reply(ClientFrames.Typed("unsubscribed", command.Id, w => w.WriteString("channel", command.Channel))));
    }
}
