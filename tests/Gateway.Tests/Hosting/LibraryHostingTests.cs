using System.Net;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Gateway.Tests.Hosting;

/// <summary>The gateway inside someone else's application: its routes, fallback and listeners stay theirs.</summary>
public class LibraryHostingTests
{
    [Fact]
    public async Task The_gateway_leaves_the_application_its_own_routes_and_fallback()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddWebSocketGateway().MapRoute<EventRecorder>("$default");
        await using var app = builder.Build();
        app.MapWebSocketGateway();
        app.MapGet("/api/items", () => "items");
        app.MapFallback(() => "spa");
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal("items", await http.GetStringAsync(new Uri("/api/items", UriKind.Relative)));
        Assert.Equal("spa", await http.GetStringAsync(new Uri("/some/client/route", UriKind.Relative)));

        // The dashboard takes its own paths under /admin, not the application's.
        Assert.Equal("spa", await http.GetStringAsync(new Uri("/admin/settings", UriKind.Relative)));
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));

        // A management path that names no resource is the application's fallback's too: the management API's own 404
        // is for a request that no endpoint took.
        Assert.Equal("spa", await http.GetStringAsync(new Uri("/@nothing", UriKind.Relative)));

        // Without listeners of its own, the gateway serves clients and the management API on the app's.
        await using var client = await TestClient.ConnectAsync(new Uri($"ws://{address.Authority}/"));
        var push = await http.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("from the app"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        Assert.Equal("from the app", await client.ReceiveTextAsync());
        await app.StopAsync();
    }

    [Fact]
    public async Task An_application_serves_websockets_over_h2c_on_an_http2_only_listener_beside_its_http1_one()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseWebSocketGatewayHandshake());

            // What the docs tell a library user: h2c needs an endpoint of its own with HTTP/2 only. The handshake
            // middleware may be on it too: it steps aside for HTTP/2.
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
                listen.UseWebSocketGatewayHandshake();
            });
        });
        builder.Services.AddWebSocketGateway().MapRoute<EventRecorder>("$default");
        await using var app = builder.Build();
        app.MapWebSocketGateway();
        await app.StartAsync();
        var addresses = app.Urls.Select(url => new Uri(url)).ToList();
        var recorder = app.Services.GetRequiredService<EventRecorder>();

        await using var http1 = await TestClient.ConnectAsync(new Uri($"ws://{addresses[0].Authority}/"));
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler());
        using var h2c = new System.Net.WebSockets.ClientWebSocket();
        h2c.Options.HttpVersion = HttpVersion.Version20;
        h2c.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        await h2c.ConnectAsync(new Uri($"ws://{addresses[1].Authority}/"), invoker, CancellationToken.None).WithTimeout();
        await h2c.SendAsync("over h2c"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout();
        await http1.SendTextAsync("over http/1.1");
        Assert.Equal("HTTP/2", app.Services.GetRequiredService<Gateway.Connections.ConnectionRegistry>().TryGet((await recorder.WaitForAsync(e => e.Body == "over h2c")).ConnectionId, out var viaH2) ? viaH2.Handshake.Protocol : "gone");
        Assert.Equal("HTTP/1.1", app.Services.GetRequiredService<Gateway.Connections.ConnectionRegistry>().TryGet((await recorder.WaitForAsync(e => e.Body == "over http/1.1")).ConnectionId, out var viaHttp1) ? viaHttp1.Handshake.Protocol : "gone");
        await app.StopAsync();
    }
}
