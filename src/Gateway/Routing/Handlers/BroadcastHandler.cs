using Gateway.Connections;

namespace Gateway.Routing.Handlers;

/// <summary>The built-in <c>broadcast</c> handler: sends the message to every connection, the sender included.</summary>
public sealed class BroadcastHandler : IGatewayRouteHandler
{
    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.EventType == RouteEventType.Message)
        {
            // One copy shared by every recipient's queue.
            var copy = context.Body.ToArray();
            await context.BroadcastAsync(new OutboundMessage(copy, context.IsBinary ? OutboundKind.Binary : OutboundKind.Text));
        }

        return RouteResult.Ok;
    }
}
