using System.Text;
using Gateway.Backplane;
using Gateway.Connections;
using Microsoft.Extensions.Logging;

namespace Gateway.Routing;

/// <summary>
/// Turns connection events into route handler calls: selects the route of each message, runs its handler,
/// and sends the route response, or the Forbidden / Internal server error frames Amazon API Gateway sends.
/// </summary>
public sealed partial class MessageDispatcher(
    RouteTable routes,
    ConnectionSender sender,
    IServiceProvider services,
    Diagnostics.GatewayMetrics metrics,
    ILogger<MessageDispatcher> logger)
{
    /// <summary>The routes this dispatcher serves.</summary>
    public RouteTable Routes => routes;

    /// <summary>Runs <c>$connect</c> for a handshake not yet upgraded; a non-2xx result rejects it.</summary>
    public async ValueTask<RouteResult> ConnectAsync(GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (routes.Connect is not { } route)
        {
            return RouteResult.Ok;
        }

        var context = new GatewayRouteContext(connection, route.Key, RouteEventType.Connect, default, false, sender, services);
        try
        {
            return await route.Handler.HandleAsync(context);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(logger, ex, route.Key, connection.Id, connection.SourceIp, context.RequestId);
            return RouteResult.Reject(500);
        }
    }

    /// <summary>Dispatches one message; called by the connection's receive loop, so messages of one connection run in order.</summary>
    public async ValueTask DispatchAsync(GatewayConnection connection, ReadOnlyMemory<byte> body, bool binary)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!connection.TryTakeMessageToken())
        {
            Refuse(connection, body, binary, "Too many requests", static (l, k, c, ip, r) => Log.Throttled(l, k, c, ip, r));
            return;
        }

        var route = binary ? routes.Default : routes.Select(body.Span);
        if (route is null)
        {
            Refuse(connection, body, binary, "Forbidden", static (l, k, c, ip, r) => Log.NoRoute(l, k, c, ip, r));
            return;
        }

        metrics.Received(route.Key, body.Length);
        var routeContext = new GatewayRouteContext(connection, route.Key, RouteEventType.Message, body, binary, sender, services);
        RouteResult result;
        try
        {
            result = await route.Handler.HandleAsync(routeContext);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(logger, ex, route.Key, connection.Id, connection.SourceIp, routeContext.RequestId);
            metrics.Error(ex is IntegrationFailedException ? "integration" : "execution");
            connection.TrySendText(ErrorFrame("Internal server error", connection.Id, routeContext.RequestId));
            return;
        }

        if (result.Response is { } response)
        {
            connection.TrySend(new OutboundMessage(response, result.ResponseIsBinary ? OutboundKind.Binary : OutboundKind.Text));
        }
    }

    /// <summary>Runs <c>$disconnect</c> after a connection has closed. Best effort: a failure is logged.</summary>
    public async ValueTask DisconnectAsync(GatewayConnection connection, DisconnectInfo info)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (routes.Disconnect is not { } route)
        {
            return;
        }

        var context = new GatewayRouteContext(connection, route.Key, RouteEventType.Disconnect, default, false, sender, services)
        {
            DisconnectStatusCode = info.StatusCode,
            DisconnectReason = info.Reason,
        };
        try
        {
            await route.Handler.HandleAsync(context);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(logger, ex, route.Key, connection.Id, connection.SourceIp, context.RequestId);
        }
    }

    /// <summary>The frame Amazon API Gateway sends for a failed message, byte for byte.</summary>
    /// <remarks>
    /// Text, not <see cref="Protocol.FrameJson"/>: Amazon's spacing (<c>"message": "…"</c>) is part of the byte-for-byte
    /// contract and a JSON writer cannot reproduce it. Nothing here needs escaping: the message is one of the gateway's
    /// own, and the ids are URL-safe.
    /// </remarks>
    public static byte[] ErrorFrame(string message, string connectionId, string requestId) =>
        Encoding.UTF8.GetBytes($"{{\"message\": \"{message}\", \"connectionId\":\"{connectionId}\", \"requestId\":\"{requestId}\"}}");

    /// <summary>
    /// A message answered with Amazon's error frame and counted as a client error; logged with the route key it asked
    /// for (read again only here, and only when the line is written).
    /// </summary>
    private void Refuse(GatewayConnection connection, ReadOnlyMemory<byte> body, bool binary, string message, Action<ILogger, string, string, string, string> log)
    {
        var requestId = RequestIds.Next();
        if (logger.IsEnabled(LogLevel.Information))
        {
            var asked = binary ? null : routes.Selector.Select(body.Span);
            log(logger, string.IsNullOrEmpty(asked) ? RouteKeys.Default : Diagnostics.LogText.Printable(asked), connection.Id, connection.SourceIp, requestId);
        }

        metrics.Error("client");
        connection.TrySendText(ErrorFrame(message, connection.Id, requestId));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} from {SourceIp}: no route matched and no $default route exists (request {RequestId}); answered Forbidden")]
        public static partial void NoRoute(ILogger logger, string route, string connectionId, string sourceIp, string requestId);

        [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "{Route}: connection {ConnectionId} from {SourceIp} is over its message rate; message dropped (request {RequestId})")]
        public static partial void Throttled(ILogger logger, string route, string connectionId, string sourceIp, string requestId);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "{Route}: the handler failed for connection {ConnectionId} from {SourceIp} (request {RequestId})")]
        public static partial void HandlerFailed(ILogger logger, Exception exception, string route, string connectionId, string sourceIp, string requestId);
    }
}
