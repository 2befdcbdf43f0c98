using System.Net;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Auth;

public sealed class HttpAuthorizerTests
{
    private static Dictionary<string, string?> Settings(IntegrationBackend backend, string ttl = "00:05:00") => new()
    {
        ["Gateway:Auth:Authorizer:Uri"] = backend.Url("/authorize").ToString(),
        ["Gateway:Auth:Authorizer:IdentitySources:0"] = "route.request.header.Auth",
        ["Gateway:Auth:Authorizer:IdentitySources:1"] = "route.request.querystring.room",
        ["Gateway:Auth:Authorizer:CacheTtl"] = ttl,
        ["Gateway:Routes:tell:Integration:Type"] = "http",
        ["Gateway:Routes:tell:Integration:Uri"] = backend.Url("/tell").ToString(),
    };

    /// <summary>A backend that answers as a Lambda authorizer would: Allow for "good", Deny for "bad", 401 for "expired".</summary>
    private static Task Decide(BackendRequest request, HttpContext context)
    {
        if (request.Path != "/authorize")
        {
            return Task.CompletedTask;
        }

        var auth = request.Json.GetProperty("headers").GetProperty("Auth").GetString();
        switch (auth)
        {
            case "expired":
                context.Response.StatusCode = 401;
                return Task.CompletedTask;
            case "broken":
                context.Response.StatusCode = 502;
                return Task.CompletedTask;
            case "simple":
                return context.Response.WriteAsync("""{"isAuthorized":true,"context":{"plan":"free"}}""");
            case "simple-no":
                return context.Response.WriteAsync("""{"isAuthorized":false}""");
        }

        var effect = auth == "good" ? "Allow" : "Deny";
        var arn = request.Json.GetProperty("methodArn").GetString();
        return context.Response.WriteAsync($$$"""
            {"principalId":"user-{{{auth}}}","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"{{{effect}}}","Resource":"{{{arn}}}"}]},
             "context":{"org_id":"org_5","admin":false,"seats":12}}
            """);
    }

    [Fact]
    public async Task The_authorizer_gets_amazons_request_event_and_its_Allow_puts_principal_and_context_on_the_connection()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = Decide;
        await using var host = await GatewayHost.StartAsync(Settings(backend), g => g.MapRoute<WhoAmI>("whoami"));
        await using var client = await host.ConnectAsync("/?room=lobby", configure: o => o.SetRequestHeader("Auth", "good"));

        var asked = (await backend.WaitForAsync(r => r.Path == "/authorize")).Json;
        Assert.Equal("REQUEST", asked.GetProperty("type").GetString());
        Assert.Equal("arn:aws:execute-api:local:000000000000:gateway/prod/$connect", asked.GetProperty("methodArn").GetString());
        Assert.Equal("lobby", asked.GetProperty("queryStringParameters").GetProperty("room").GetString());
        Assert.Equal("$connect", asked.GetProperty("requestContext").GetProperty("routeKey").GetString());
        Assert.Equal("CONNECT", asked.GetProperty("requestContext").GetProperty("eventType").GetString());

        var me = await JwtAuthTests.WhoAmIAsync(client);
        Assert.Equal("user-good", me.GetProperty("userId").GetString());
        Assert.Equal("org_5", me.GetProperty("org").GetString());
        Assert.Equal("authorizer", me.GetProperty("method").GetString());

        await client.SendTextAsync("""{"action":"tell"}""");
        var authorizer = (await backend.WaitForAsync(r => r.Path == "/tell")).Json.GetProperty("requestContext").GetProperty("authorizer");
        Assert.Equal("user-good", authorizer.GetProperty("principalId").GetString());
        Assert.Equal("org_5", authorizer.GetProperty("org_id").GetString());
        Assert.False(authorizer.GetProperty("admin").GetBoolean());
        Assert.Equal(12, authorizer.GetProperty("seats").GetInt32());
    }

    [Fact]
    public async Task Deny_is_403_a_401_answer_is_401_a_failing_backend_is_500_and_the_simple_format_works()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = Decide;
        await using var host = await GatewayHost.StartAsync(Settings(backend), g => g.MapRoute<EventRecorder>("$connect").MapRoute<WhoAmI>("whoami"));
        Assert.Equal(HttpStatusCode.Forbidden, await JwtAuthTests.RefusedWith(host, "/?room=a", o => o.SetRequestHeader("Auth", "bad")));
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/?room=a", o => o.SetRequestHeader("Auth", "expired")));
        Assert.Equal(HttpStatusCode.InternalServerError, await JwtAuthTests.RefusedWith(host, "/?room=a", o => o.SetRequestHeader("Auth", "broken")));
        Assert.Equal(HttpStatusCode.Forbidden, await JwtAuthTests.RefusedWith(host, "/?room=a", o => o.SetRequestHeader("Auth", "simple-no")));
        Assert.Empty(host.Events.All);

        await using var simple = await host.ConnectAsync("/?room=a", configure: o => o.SetRequestHeader("Auth", "simple"));
        var me = await JwtAuthTests.WhoAmIAsync(simple);
        Assert.True(me.GetProperty("authenticated").GetBoolean());
        Assert.Equal(JsonValueKind.Null, me.GetProperty("userId").ValueKind);
    }

    [Fact]
    public async Task A_missing_identity_source_is_401_without_calling_the_backend()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = Decide;
        await using var host = await GatewayHost.StartAsync(Settings(backend));
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/?room=a"));
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/", o => o.SetRequestHeader("Auth", "good")));
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/?room=", o => o.SetRequestHeader("Auth", "good")));
        Assert.Empty(backend.Requests);
    }

    [Fact]
    public async Task Decisions_are_cached_per_identity_for_the_ttl_and_failures_are_not()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = Decide;
        await using var host = await GatewayHost.StartAsync(Settings(backend, ttl: "00:01:00"));
        int Calls() => backend.Requests.Count(r => r.Path == "/authorize");

        for (var i = 0; i < 3; i++)
        {
            await using var client = await host.ConnectAsync("/?room=a", configure: o => o.SetRequestHeader("Auth", "good"));
            Assert.Equal(HttpStatusCode.Forbidden, await JwtAuthTests.RefusedWith(host, "/?room=a", o => o.SetRequestHeader("Auth", "bad")));
            Assert.Equal(HttpStatusCode.InternalServerError, await JwtAuthTests.RefusedWith(host, "/?room=a", o => o.SetRequestHeader("Auth", "broken")));
        }

        Assert.Equal(1 + 1 + 3, Calls());

        // Another identity (the same header in another room) is another cache entry.
        await using (await host.ConnectAsync("/?room=b", configure: o => o.SetRequestHeader("Auth", "good")))
        {
            Assert.Equal(6, Calls());
        }

        host.Advance(TimeSpan.FromSeconds(61));
        await using (await host.ConnectAsync("/?room=a", configure: o => o.SetRequestHeader("Auth", "good")))
        {
            Assert.Equal(7, Calls());
        }
    }

    [Fact]
    public async Task With_a_zero_ttl_every_handshake_asks()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = Decide;
        await using var host = await GatewayHost.StartAsync(Settings(backend, ttl: "00:00:00"));
        for (var i = 0; i < 3; i++)
        {
            await using var client = await host.ConnectAsync("/?room=a", configure: o => o.SetRequestHeader("Auth", "good"));
        }

        Assert.Equal(3, backend.Requests.Count(r => r.Path == "/authorize"));
    }
}
