using System.Net;
using Gateway.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Gateway.Connections;

namespace Gateway.Server;

/// <summary>
/// Binds Kestrel to <c>Gateway:Listeners</c>: the client listener, the management listener beside it, and the
/// HTTP/2-only client listener when one is configured.
/// </summary>
internal static partial class GatewayListenerSetup
{
    public static IWebHostBuilder UseGatewayListeners(this IWebHostBuilder webHost, IServiceCollection services)
    {
        var listeners = new GatewayListeners();
        services.AddSingleton(listeners);
        var handOff = new HandOffEndPoints();
        webHost.ConfigureServices((context, s) =>
        {
            // Client sockets continue inline on the thread that completed them; the management listener keeps Kestrel's
            // hand-off to the thread pool, which serves many short HTTP calls from few senders better (see SplitSocketTransport).
            var inline = context.Configuration.GetValue("Gateway:Listeners:InlineScheduling", true);
            s.Configure<SocketTransportOptions>(sockets => sockets.UnsafePreferInlineScheduling = inline);
            s.AddSingleton(handOff);
            s.AddSingleton<IConnectionListenerFactory, SplitSocketTransport>();
        });
        return webHost.ConfigureKestrel((context, kestrel) =>
        {
            var options = context.Configuration.GetSection("Gateway:Listeners").Get<ListenersOptions>() ?? new ListenersOptions();
            var client = options.Client;
            var management = options.Management;
            // Equal URLs share one listener, unless the port is 0: then each gets a fresh port of its own.
            if (string.IsNullOrWhiteSpace(management)
                || (string.Equals(management, client, StringComparison.OrdinalIgnoreCase) && !client.EndsWith(":0", StringComparison.Ordinal)))
            {
                Listen(kestrel, listeners, handOff, client, GatewayListenerKind.Client | GatewayListenerKind.Management);
            }
            else
            {
                Listen(kestrel, listeners, handOff, client, GatewayListenerKind.Client);
                Listen(kestrel, listeners, handOff, management, GatewayListenerKind.Management);
            }

            // Last, so that the first client endpoint stays the main client listener.
            if (!string.IsNullOrWhiteSpace(options.ClientHttp2))
            {
                Listen(kestrel, listeners, handOff, options.ClientHttp2, GatewayListenerKind.Client | GatewayListenerKind.Http2Only);
            }
        });
    }

    private static void Listen(KestrelServerOptions kestrel, GatewayListeners listeners, HandOffEndPoints handOff, string url, GatewayListenerKind kind)
    {
        // An invalid URL is reported with every other configuration error by the options validator.
        if (!ConnectionsOptionsValidator.IsListenerUrl(url))
        {
            return;
        }

        var uri = new Uri(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
        var https = uri.Scheme == Uri.UriSchemeHttps;
        var address = uri.IsLoopback && !IPAddress.TryParse(uri.Host, out _) ? IPAddress.Loopback
            : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var parsed) ? parsed
            : IPAddress.Any;
        kestrel.Listen(address, uri.Port, listen =>
        {
            if ((kind & GatewayListenerKind.Http2Only) != 0)
            {
                // Kestrel speaks cleartext HTTP/2 (h2c, prior knowledge) only on an endpoint without HTTP/1.1.
                listen.Protocols = HttpProtocols.Http2;
            }

            if (https)
            {
                // With a certificate, ALPN offers h2 beside HTTP/1.1 (Kestrel's default protocols, Http1AndHttp2).
                listen.UseHttps();
            }

            // HTTP/1.1 upgrades are taken at the connection level; an HTTP/2 connection goes to Kestrel's HTTP/2 layer,
            // which serves WebSockets as extended CONNECT streams through the gateway's endpoints.
            if ((kind & (GatewayListenerKind.Client | GatewayListenerKind.Http2Only)) == GatewayListenerKind.Client)
            {
                listen.UseWebSocketGatewayHandshake();
            }

            if ((kind & GatewayListenerKind.Client) == 0)
            {
                handOff.Add(listen.EndPoint);
            }

            listeners.Add(kind, () => listen.IPEndPoint);
        });
    }

    public static void LogListenerAddresses(this WebApplication app)
    {
        var listeners = app.Services.GetRequiredService<GatewayListeners>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Server");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var http2Only = listeners.EndPoints(GatewayListenerKind.Http2Only).ToHashSet();
            foreach (var endPoint in listeners.EndPoints(GatewayListenerKind.Client))
            {
                var address = Display(endPoint);
                if (http2Only.Contains(endPoint))
                {
                    Log.ClientHttp2Listening(logger, address);
                }
                else
                {
                    Log.ClientListening(logger, address);
                }
            }

            foreach (var endPoint in listeners.EndPoints(GatewayListenerKind.Management))
            {
                var address = Display(endPoint);
                Log.ManagementListening(logger, address);
            }
        });
    }

    private static string Display(IPEndPoint endPoint) =>
        endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)
            ? $"localhost:{endPoint.Port}"
            : endPoint.ToString();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Clients connect at ws://{Address}/")]
        public static partial void ClientListening(ILogger logger, string address);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Management API at http://{Address}/")]
        public static partial void ManagementListening(ILogger logger, string address);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Clients connect over HTTP/2 only (WebSockets as extended CONNECT streams) at {Address}")]
        public static partial void ClientHttp2Listening(ILogger logger, string address);
    }
}
