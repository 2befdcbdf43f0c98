using Gateway.Connections;

namespace Gateway.Routing.Handlers;

/// <summary>The built-in <c>echo</c> handler: sends the message back as it came, text as text, binary as binary.</summary>
public sealed class EchoHandler : IGatewayRouteHandler
{
    /// <inheritdoc />
    public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.EventType != RouteEventType.Message)
        {
            return ValueTask.FromResult(RouteResult.Ok);
        }

        // The body lives in a receive buffer that is reused once this returns; the queue needs its own copy.
        var copy = context.Body.ToArray();
        context.Connection.TrySend(new OutboundMessage(copy, context.IsBinary ? OutboundKind.Binary : OutboundKind.Text));
        return ValueTask.FromResult(RouteResult.Ok);
    }
}
