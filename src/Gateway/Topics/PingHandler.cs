using Gateway.Routing;
using Gateway.Protocol;

namespace Gateway.Topics;

/// <summary>The built-in <c>ping</c> command: <c>{"type":"pong","id":…}</c>.</summary>
public sealed class PingHandler : IGatewayRouteHandler
{
    /// <inheritdoc />
    public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var command = TopicCommand.Parse(context.Body);
        return ValueTask.FromResult(RouteResult.Reply(ClientFrames.Typed("pong", command.Id)));
    }
}
