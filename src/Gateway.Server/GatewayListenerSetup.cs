using System.Net;
using Gateway.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Gateway.Connections;

namespace Gateway.Server;

/// <summary>Binds Kestrel to <c>Gateway:Listeners</c>: the client listener, and the management listener beside it.</summary>
internal static partial class GatewayListenerSetup
{
    public static IWebHostBuilder UseGatewayListeners(this IWebHostBuilder webHost, IServiceCollection services)
    {
        var listeners = new GatewayListeners();
        services.AddSingleton(listeners);
        return webHost.ConfigureKestrel((context, kestrel) =>
        {
            var options = context.Configuration.GetSection("Gateway:Listeners").Get<ListenersOptions>() ?? new ListenersOptions();
            var client = options.Client;
            var management = options.Management;
            // Equal URLs share one listener, unless the port is 0: then each gets a fresh port of its own.
            if (string.IsNullOrWhiteSpace(management)
                || (string.Equals(management, client, StringComparison.OrdinalIgnoreCase) && !client.EndsWith(":0", StringComparison.Ordinal)))
            {
                Listen(kestrel, listeners, client, GatewayListenerKind.Client | GatewayListenerKind.Management);
            }
            else
            {
                Listen(kestrel, listeners, client, GatewayListenerKind.Client);
                Listen(kestrel, listeners, management, GatewayListenerKind.Management);
            }
        });
    }

    private static void Listen(KestrelServerOptions kestrel, GatewayListeners listeners, string url, GatewayListenerKind kind)
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
            if (https)
            {
                listen.UseHttps();
            }

            if ((kind & GatewayListenerKind.Client) != 0)
            {
                listen.UseWebSocketGatewayHandshake();
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
            foreach (var endPoint in listeners.EndPoints(GatewayListenerKind.Client))
            {
                var address = Display(endPoint);
                Log.ClientListening(logger, address);
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
    }
}
