namespace Gateway.Routing;

/// <summary>The kind of event a route handles, as integration events name it.</summary>
public enum RouteEventType
{
    /// <summary>The opening handshake (<c>$connect</c>).</summary>
    Connect,

    /// <summary>A message from the client.</summary>
    Message,

    /// <summary>The connection has closed (<c>$disconnect</c>).</summary>
    Disconnect,
}
