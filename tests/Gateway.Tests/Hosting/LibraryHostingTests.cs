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

        // Without listeners of its own, the gateway serves clients and the management API on the app's.
        await using var client = await TestClient.ConnectAsync(new Uri($"ws://{address.Authority}/"));
        var push = await http.PostAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("from the app"));
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        Assert.Equal("from the app", await client.ReceiveTextAsync());
        await app.StopAsync();
    }
}
