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

        var context = new RouteContext(connection, route.Key, RouteEventType.Connect, default, false, sender, services);
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
            var throttledId = RequestId.Next();
            if (logger.IsEnabled(LogLevel.Information))
            {
                var asked = SelectedKey(binary, body.Span);
                Log.Throttled(logger, asked, connection.Id, connection.SourceIp, throttledId);
            }

            metrics.Error("client");
            connection.TrySendText(ErrorFrame("Too many requests", connection.Id, throttledId));
            return;
        }

        var route = binary ? routes.Default : routes.Select(body.Span);
        if (route is null)
        {
            var unroutedId = RequestId.Next();
            if (logger.IsEnabled(LogLevel.Information))
            {
                var asked = SelectedKey(binary, body.Span);
                Log.NoRoute(logger, asked, connection.Id, connection.SourceIp, unroutedId);
            }

            metrics.Error("client");
            connection.TrySendText(ErrorFrame("Forbidden", connection.Id, unroutedId));
            return;
        }

        metrics.Received(route.Key, body.Length);
        var routeContext = new RouteContext(connection, route.Key, RouteEventType.Message, body, binary, sender, services);
        RouteResult result;
        try
        {
            result = await route.Handler.HandleAsync(routeContext);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(logger, ex, route.Key, connection.Id, connection.SourceIp, routeContext.RequestId);
            metrics.Error(ex is Integrations.IntegrationFailedException ? "integration" : "execution");
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

        var context = new RouteContext(connection, route.Key, RouteEventType.Disconnect, default, false, sender, services)
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
    public static byte[] ErrorFrame(string message, string connectionId, string requestId) =>
        Encoding.UTF8.GetBytes($"{{\"message\": \"{message}\", \"connectionId\":\"{connectionId}\", \"requestId\":\"{requestId}\"}}");

    /// <summary>The route key a message asks for, for a log line (not on the hot path: only a refused message pays).</summary>
    /// The client chose it: it is cut short, and control characters cannot start a forged line in a text log.
    private string SelectedKey(bool binary, ReadOnlySpan<byte> body)
    {
        var key = binary ? null : routes.Selector.Select(body);
        if (string.IsNullOrEmpty(key))
        {
            return RouteKeys.Default;
        }

        var shown = key.Length > 100 ? key[..100] + "…" : key;
        return shown.Any(char.IsControl) ? string.Concat(shown.Select(c => char.IsControl(c) ? '?' : c)) : shown;
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
