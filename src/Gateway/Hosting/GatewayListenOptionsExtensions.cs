using Gateway.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// Beside Kestrel's own ListenOptions extensions (UseHttps), so that it is found where they are.
namespace Microsoft.AspNetCore.Hosting;

/// <summary>Connection-level setup of a Kestrel listener for the gateway.</summary>
public static class GatewayListenOptionsExtensions
{
    /// <summary>
    /// Answers plain WebSocket handshakes to the gateway's paths (<c>/</c> and <c>/{Stage}</c>) at the connection level,
    /// so that an upgraded connection keeps no HTTP request state; every other request reaches the application as
    /// before. Call it after <c>UseHttps()</c> on a client listener. Without it the gateway's endpoints still answer
    /// handshakes through the application's request pipeline, at a higher memory cost per connection. An HTTP/2
    /// connection (ALPN <c>h2</c>, or any connection of an HTTP/2-only listener) goes to the web server untouched: its
    /// WebSockets are extended CONNECT streams, which the gateway's endpoints answer.
    /// </summary>
    public static ListenOptions UseWebSocketGatewayHandshake(this ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var services = listen.ApplicationServices;
        listen.Use(next => new HandshakeConnectionMiddleware(next, services, listen).OnConnectionAsync);
        return listen;
    }
}
