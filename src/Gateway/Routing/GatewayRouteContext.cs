using System.Security.Claims;
using System.Text;
using Gateway.Backplane;
using Gateway.Connections;

namespace Gateway.Routing;

/// <summary>One event for a route handler: who sent it, what it carries, and ways to answer.</summary>
public sealed class GatewayRouteContext
{
    private readonly ConnectionSender _sender;
    private string? _requestId;
    private string? _messageId;

    /// <summary>Creates the context of one event.</summary>
    public GatewayRouteContext(
        GatewayConnection connection,
        string routeKey,
        RouteEventType eventType,
        ReadOnlyMemory<byte> body,
        bool isBinary,
        ConnectionSender sender,
        IServiceProvider services)
    {
        Connection = connection;
        RouteKey = routeKey;
        EventType = eventType;
        Body = body;
        IsBinary = isBinary;
        _sender = sender;
        Services = services;
    }

    /// <summary>The connection the event belongs to.</summary>
    public GatewayConnection Connection { get; }

    /// <summary>The connection id.</summary>
    public string ConnectionId => Connection.Id;

    /// <summary>The route key that matched (<c>$default</c> when none did).</summary>
    public string RouteKey { get; }

    /// <summary>Connect, message or disconnect.</summary>
    public RouteEventType EventType { get; }

    /// <summary>The message. Valid until the handler's task completes; copy it to keep it longer.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>True for a binary message.</summary>
    public bool IsBinary { get; }

    /// <summary>The body as text (allocates; for handlers that want a string).</summary>
    public string BodyText => Encoding.UTF8.GetString(Body.Span);

    /// <summary>The authenticated client.</summary>
    public ClaimsPrincipal User => Connection.User;

    /// <summary>A unique id of this event, as in integration events and error frames.</summary>
    public string RequestId => _requestId ??= RequestIds.Next();

    /// <summary>A unique id of this message (messages only), as integration events carry it.</summary>
    public string MessageId => _messageId ??= RequestIds.Next();

    /// <summary>On <c>$disconnect</c>: the close code.</summary>
    public int? DisconnectStatusCode { get; init; }

    /// <summary>On <c>$disconnect</c>: the close reason.</summary>
    public string? DisconnectReason { get; init; }

    /// <summary>The application's services.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Cancelled as soon as the connection starts closing.</summary>
    public CancellationToken ConnectionClosed => Connection.Closed;

    /// <summary>Sends a text frame to the caller.</summary>
    public SendResult Reply(ReadOnlyMemory<byte> utf8) => Connection.TrySend(OutboundMessage.Text(utf8));

    /// <summary>Sends a text frame to the caller.</summary>
    public SendResult Reply(string text) => Reply(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends a frame to any connection, on this node or another.</summary>
    public ValueTask<SendResult> SendAsync(string connectionId, OutboundMessage message, CancellationToken cancellationToken = default) =>
        _sender.SendAsync(connectionId, message, cancellationToken);

    /// <summary>Sends a text frame to any connection, on this node or another.</summary>
    public ValueTask<SendResult> SendAsync(string connectionId, string text, CancellationToken cancellationToken = default) =>
        _sender.SendAsync(connectionId, OutboundMessage.Text(Encoding.UTF8.GetBytes(text)), cancellationToken);

    /// <summary>Sends a frame to every connection of every node; returns how many local connections took it.</summary>
    public ValueTask<int> BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken = default) =>
        _sender.BroadcastAsync(message, cancellationToken);
}
