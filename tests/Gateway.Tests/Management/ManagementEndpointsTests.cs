using System.Globalization;
using System.Net;
using System.Text;
using Gateway.Management;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Management;

/// <summary>The management API mapped per resource: every path form reaches every resource, each with its own answers.</summary>
public class ManagementEndpointsTests
{
    [Theory]
    [InlineData("//@connections/x", "/@connections/x")]
    [InlineData("/prod//@connections//x/", "/prod/@connections/x")]
    [InlineData("//@broadcast", "/@broadcast")]
    [InlineData("/@connections/x", "/@connections/x")]
    [InlineData("//a//b", "//a//b")]
    [InlineData("/prod//x//@connections", "/prod//x//@connections")]
    [InlineData("/@connections/a%2F//b", "/@connections/a%2F//b")]
    public void Doubled_slashes_are_collapsed_in_management_paths_only(string path, string routed)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = new PathString(path);
        ManagementPathNormalizer.Normalize(context.Request);
        Assert.Equal(routed, context.Request.Path.Value);
    }

    [Theory]
    [InlineData("/@broadcast")]
    [InlineData("/prod/@broadcast")]
    [InlineData("//@broadcast")]
    [InlineData("/prod//@broadcast")]
    [InlineData("/%40broadcast")]
    [InlineData("/@users/alice")]
    [InlineData("/any-stage//%40users/alice")]
    public async Task Publishing_resources_take_every_path_form(string path)
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret }, realClock: true);
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(DateTimeOffset.UtcNow, "alice")}");
        using var http = new HttpClient();
        var uri = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}{path}");
        var response = await http.PostAsync(uri, new StringContent("to all", Encoding.UTF8, "text/plain")).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"delivered":1}""", await response.Content.ReadAsStringAsync().WithTimeout());
        Assert.Equal("to all", await client.ReceiveTextAsync());
    }

    [Theory]
    [InlineData("GET", "/@broadcast", 405, ManagementErrors.MethodNotAllowed, "POST")]
    [InlineData("PUT", "/prod/@topics/news", 405, ManagementErrors.MethodNotAllowed, "GET, HEAD, POST")]
    [InlineData("DELETE", "/@topics", 405, ManagementErrors.MethodNotAllowed, "GET")]
    [InlineData("PUT", "/@users/alice", 405, ManagementErrors.MethodNotAllowed, "GET, HEAD, POST, DELETE")]
    [InlineData("PUT", "/@connections/AAAAAAAAAAAAAAAAAAAA", 405, ManagementErrors.MethodNotAllowed, "GET, HEAD, POST, DELETE, PATCH")]
    [InlineData("POST", "/@broadcast/x", 404, ManagementErrors.NotFound, null)]
    [InlineData("POST", "/@topics", 404, ManagementErrors.NotFound, null)]
    [InlineData("POST", "/@users", 404, ManagementErrors.NotFound, null)]
    [InlineData("POST", "/@topics/news.*", 400, ManagementErrors.BadRequest, null)]
    [InlineData("GET", "/prod/@nothing", 404, ManagementErrors.NotFound, null)]
    public async Task Each_resource_answers_its_own_errors(string method, string path, int status, string errorType, string? allow)
    {
        await using var host = await GatewayHost.StartAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}{path}"))
        {
            Content = method is "GET" or "DELETE" ? null : new StringContent("""{"type":"t","data":1}""", Encoding.UTF8, "application/json"),
        };
        var response = await http.SendAsync(request).WithTimeout();
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(errorType, response.Headers.GetValues("x-amzn-ErrorType").Single());
        if (status == 405)
        {
            Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        }
    }

    [Theory]
    [InlineData("/@nothing")]
    [InlineData("/prod/@nothing/x")]
    [InlineData("//@nothing//x")]
    public async Task A_resource_the_api_does_not_have_is_its_own_404_before_credentials_and_on_its_listener_only(string path)
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Management:ApiKeys:0"] = "a-key-of-the-operator" });
        using var http = new HttpClient();
        var management = await http.PostAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}{path}"), new StringContent("x")).WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, management.StatusCode);
        Assert.Equal(ManagementErrors.NotFound, management.Headers.GetValues("x-amzn-ErrorType").Single());

        var client = await http.PostAsync(new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}{path}"), new StringContent("x")).WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, client.StatusCode);
        Assert.False(client.Headers.Contains("x-amzn-ErrorType"));
    }

    [Fact]
    public async Task A_stage_is_one_segment_that_names_no_resource()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        var asStage = await http.PostAsync(new Uri(string.Create(CultureInfo.InvariantCulture, $"/@x/@connections/{client.Id}"), UriKind.Relative), new StringContent("x")).WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, asStage.StatusCode);
        Assert.False(asStage.Headers.Contains("x-amzn-ErrorType"));
        Assert.False(client.HasFrame);
    }

    [Fact]
    public async Task A_push_takes_the_steps_of_every_management_call_in_their_order()
    {
        const string key = "a-key-of-the-operator";
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Management:ApiKeys:0"] = key,
            ["Gateway:Management:MaxPayloadBytes"] = "64",
        });
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient();
        var management = $"http://127.0.0.1:{host.ManagementEndPoint.Port}";

        async Task<HttpResponseMessage> PushAsync(string baseAddress, string path, string body, string? apiKey, string? idempotencyKey = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress + path)) { Content = new StringContent(body) };
            if (apiKey is not null)
            {
                request.Headers.Add("x-api-key", apiKey);
            }

            if (idempotencyKey is not null)
            {
                request.Headers.Add(IdempotencyFilter.Header, idempotencyKey);
            }

            return await http.SendAsync(request).WithTimeout();
        }

        static void AssertError(HttpResponseMessage response, HttpStatusCode status, string? errorType)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal(errorType, response.Headers.TryGetValues("x-amzn-ErrorType", out var types) ? types.Single() : null);
        }

        // On the client listener the push is a path that listener does not serve, whatever the credentials.
        AssertError(await PushAsync($"http://127.0.0.1:{host.ClientEndPoint.Port}", $"/@connections/{client.Id}", "x", key), HttpStatusCode.NotFound, null);

        // The body's limit, then the credentials, then the id.
        AssertError(await PushAsync(management, $"/@connections/{client.Id}", new string('x', 65), key), HttpStatusCode.RequestEntityTooLarge, ManagementErrors.PayloadTooLarge);
        AssertError(await PushAsync(management, $"/@connections/{client.Id}", "x", null), HttpStatusCode.Forbidden, ManagementErrors.Forbidden);
        AssertError(await PushAsync(management, $"/@connections/{client.Id}", "x", "not-the-key"), HttpStatusCode.Forbidden, ManagementErrors.Forbidden);
        AssertError(await PushAsync(management, "/@connections/not-an-id!", "x", null), HttpStatusCode.Forbidden, ManagementErrors.Forbidden);
        AssertError(await PushAsync(management, "/@connections/not-an-id!", "x", key), HttpStatusCode.BadRequest, ManagementErrors.BadRequest);
        AssertError(await PushAsync(management, "/@connections/AAAAAAAAAAAAAAAAAAAA", "x", key), HttpStatusCode.Gone, ManagementErrors.Gone);
        AssertError(await PushAsync(management, $"/@connections/{client.Id}", "x", key, idempotencyKey: "has space"), HttpStatusCode.BadRequest, ManagementErrors.BadRequest);
        Assert.False(client.HasFrame);

        // Every path form reaches it, and a repeated Idempotency-Key delivers once.
        foreach (var path in new[] { $"/@connections/{client.Id}", $"/prod/@connections/{client.Id}", $"//@connections//{client.Id}", $"/%40connections/{client.Id}" })
        {
            AssertError(await PushAsync(management, path, path, key), HttpStatusCode.OK, null);
            Assert.Equal(path, await client.ReceiveTextAsync());
        }

        for (var i = 0; i < 2; i++)
        {
            var once = await PushAsync(management, $"/@connections/{client.Id}", "once", key, idempotencyKey: "push-1");
            AssertError(once, HttpStatusCode.OK, null);
            Assert.Equal(i == 1, once.Headers.Contains(StoredAnswer.ReplayedHeader));
        }

        // The next frame after the one delivery is a later push's: the repeat delivered nothing.
        Assert.Equal("once", await client.ReceiveTextAsync());
        AssertError(await PushAsync(management, $"/@connections/{client.Id}", "after", key), HttpStatusCode.OK, null);
        Assert.Equal("after", await client.ReceiveTextAsync());
    }
}
