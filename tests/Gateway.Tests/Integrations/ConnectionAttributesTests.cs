using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Integrations;

public class ConnectionAttributesTests
{
    [Fact]
    public async Task Attributes_set_by_a_handler_or_the_management_API_appear_in_later_events_and_in_GET()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Gateway:Routes:$default:Integration:Type"] = "http",
                ["Gateway:Routes:$default:Integration:Uri"] = backend.Url("/events").ToString(),
            },
            g => g.MapRoute<Login>("login"));
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };

        await client.SendTextAsync("before");
        var before = (await backend.WaitForAsync(r => r.Json.GetProperty("body").GetString() == "before")).Json;
        Assert.False(before.GetProperty("requestContext").TryGetProperty("attributes", out _));

        await client.SendTextAsync("""{"action":"login","user":"u-17"}""");
        Assert.Equal("welcome", await client.ReceiveTextAsync());
        var patch = await http.PatchAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("""{"plan":"pro","temp":null}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);

        await client.SendTextAsync("after");
        var after = (await backend.WaitForAsync(r => r.Json.GetProperty("body").GetString() == "after")).Json;
        var attributes = after.GetProperty("requestContext").GetProperty("attributes");
        Assert.Equal("u-17", attributes.GetProperty("userId").GetString());
        Assert.Equal("pro", attributes.GetProperty("plan").GetString());

        using var info = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative)));
        Assert.Equal("u-17", info.RootElement.GetProperty("attributes").GetProperty("userId").GetString());

        await http.PatchAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent("""{"plan":null}""", Encoding.UTF8, "application/json"));
        using var removed = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative)));
        Assert.False(removed.RootElement.GetProperty("attributes").TryGetProperty("plan", out _));
    }

    [Theory]
    [InlineData("not json", HttpStatusCode.BadRequest)]
    [InlineData("""{"n":1}""", HttpStatusCode.BadRequest)]
    [InlineData("[]", HttpStatusCode.BadRequest)]
    public async Task A_patch_that_is_not_an_object_of_strings_is_a_bad_request(string body, HttpStatusCode status)
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        var response = await http.PatchAsync(new Uri($"/@connections/{client.Id}", UriKind.Relative), new StringContent(body));
        Assert.Equal(status, response.StatusCode);
        var gone = await http.PatchAsync(new Uri("/@connections/AAAAAAAAAAAAAAAAAAAA", UriKind.Relative), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
    }

    public sealed class Login : IGatewayRouteHandler
    {
        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            using var doc = JsonDocument.Parse(context.Body);
            context.Connection.Attributes["userId"] = doc.RootElement.GetProperty("user").GetString()!;
            return ValueTask.FromResult(RouteResult.Reply("welcome"u8.ToArray()));
        }
    }
}
