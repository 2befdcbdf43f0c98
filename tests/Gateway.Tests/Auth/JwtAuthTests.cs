using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Auth;

public sealed class JwtAuthTests
{
    private static Dictionary<string, string?> JwtSettings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    internal static async Task<HttpStatusCode> RefusedWith(GatewayHost host, string path, Action<ClientWebSocketOptions>? configure = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        configure?.Invoke(socket.Options);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(host.ClientUri(path), CancellationToken.None));
        return socket.HttpStatusCode;
    }

    internal static async Task<JsonElement> WhoAmIAsync(TestClient client)
    {
        await client.SendTextAsync("""{"action":"whoami"}""");
        return JsonDocument.Parse(await client.ReceiveTextAsync()).RootElement;
    }

    [Fact]
    public async Task A_token_in_the_query_a_bearer_header_or_a_subprotocol_connects_and_its_claims_reach_the_handler()
    {
        await using var host = await GatewayHost.StartAsync(JwtSettings(), g => g.MapRoute<WhoAmI>("whoami"));
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "user-7", claims: new Dictionary<string, object> { ["org_id"] = "org_42" });

        await using var byQuery = await host.ConnectAsync($"/?token={token}");
        await using var byHeader = await host.ConnectAsync(configure: o => o.SetRequestHeader("Authorization", $"Bearer {token}"));
        await using var byProtocol = await host.ConnectAsync("/prod", configure: o => { o.AddSubProtocol("bearer"); o.AddSubProtocol(token); });

        // A browser must be answered with a protocol it offered; the gateway answers the marker, never the token.
        Assert.Equal("bearer", byProtocol.Socket.SubProtocol);
        foreach (var client in new[] { byQuery, byHeader, byProtocol })
        {
            var me = await WhoAmIAsync(client);
            Assert.Equal("user-7", me.GetProperty("userId").GetString());
            Assert.Equal("user-7", me.GetProperty("sub").GetString());
            Assert.Equal("org_42", me.GetProperty("org").GetString());
            Assert.True(me.GetProperty("authenticated").GetBoolean());
            Assert.Equal("jwt", me.GetProperty("method").GetString());
        }
    }

    [Fact]
    public async Task Every_bad_token_is_refused_with_401_before_the_upgrade_and_nothing_else_happens()
    {
        await using var host = await GatewayHost.StartAsync(JwtSettings(), g => g.MapRoute<EventRecorder>("$connect"));
        var now = host.Time.GetUtcNow();
        var (rsa, _) = TestTokens.NewRsa();
        var bad = new Dictionary<string, string>
        {
            ["expired beyond the skew"] = TestTokens.Mint(now - TimeSpan.FromMinutes(10), lifetime: TimeSpan.FromMinutes(5)),
            ["not yet valid"] = TestTokens.Mint(now, notBefore: now + TimeSpan.FromMinutes(5), lifetime: TimeSpan.FromMinutes(10)),
            ["wrong issuer"] = TestTokens.Mint(now, issuer: "https://evil.test/"),
            ["wrong audience"] = TestTokens.Mint(now, audience: "someone-else"),
            ["wrong secret"] = TestTokens.Mint(now, key: new SymmetricSecurityKey("another-secret-that-is-32-bytes-long!!"u8.ToArray())),
            ["unknown RSA key"] = TestTokens.Mint(now, key: rsa, algorithm: SecurityAlgorithms.RsaSha256),
            ["alg none"] = TestTokens.WithoutSignature(now),
            ["malformed"] = "not.a.jwt",
            ["garbage"] = "%00%ff",
        };
        foreach (var (what, token) in bad)
        {
            Assert.True(HttpStatusCode.Unauthorized == await RefusedWith(host, $"/?token={token}"), what);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, "/"));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, "/", o => o.SetRequestHeader("Authorization", "Bearer ")));
        Assert.Empty(host.Events.All);
        Assert.Equal(0, host.Registry.SlotsInUse);
    }

    [Fact]
    public async Task Expiry_is_checked_with_the_configured_clock_skew()
    {
        await using var host = await GatewayHost.StartAsync(JwtSettings(("Gateway:Auth:Jwt:ClockSkew", "00:00:30")));
        var now = host.Time.GetUtcNow();
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(now - TimeSpan.FromSeconds(70), lifetime: TimeSpan.FromSeconds(60))}");
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, $"/?token={TestTokens.Mint(now - TimeSpan.FromSeconds(100), lifetime: TimeSpan.FromSeconds(60))}"));
    }

    [Fact]
    public async Task RS256_and_ES256_tokens_are_checked_against_PEM_keys_from_configuration()
    {
        var (rsa, rsaPem) = TestTokens.NewRsa();
        var (ec, ecPem) = TestTokens.NewEc();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = rsaPem,
            ["Gateway:Auth:Jwt:SigningKeys:1"] = ecPem,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
        }, g => g.MapRoute<WhoAmI>("whoami"));
        var now = host.Time.GetUtcNow();
        await using var rsaClient = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "rsa-user", rsa, SecurityAlgorithms.RsaSha256)}");
        await using var ecClient = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "ec-user", ec, SecurityAlgorithms.EcdsaSha256)}");
        Assert.Equal("rsa-user", (await WhoAmIAsync(rsaClient)).GetProperty("userId").GetString());
        Assert.Equal("ec-user", (await WhoAmIAsync(ecClient)).GetProperty("userId").GetString());

        // An HMAC token is refused when no secret is configured, whatever it is signed with.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, $"/?token={TestTokens.Mint(now)}"));
        var (otherRsa, _) = TestTokens.NewRsa();
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, $"/?token={TestTokens.Mint(now, key: otherRsa, algorithm: SecurityAlgorithms.RsaSha256)}"));
    }

    [Fact]
    public async Task With_Required_false_a_client_without_a_token_connects_anonymously_but_a_bad_token_is_still_refused()
    {
        await using var host = await GatewayHost.StartAsync(JwtSettings(("Gateway:Auth:Jwt:Required", "false")), g => g.MapRoute<WhoAmI>("whoami"));
        await using var anonymous = await host.ConnectAsync();
        var me = await WhoAmIAsync(anonymous);
        Assert.False(me.GetProperty("authenticated").GetBoolean());
        Assert.Equal(JsonValueKind.Null, me.GetProperty("userId").ValueKind);
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, "/?token=not.a.jwt"));
    }

    [Fact]
    public async Task Integration_events_carry_the_claims_as_requestContext_authorizer()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        await using var host = await GatewayHost.StartAsync(JwtSettings(
            ("Gateway:Routes:_connect:Integration:Type", "http"),
            ("Gateway:Routes:_connect:Integration:Uri", backend.Url("/connect").ToString()),
            ("Gateway:Routes:tell:Integration:Type", "http"),
            ("Gateway:Routes:tell:Integration:Uri", backend.Url("/tell").ToString())));
        var token = TestTokens.Mint(host.Time.GetUtcNow(), "user-9", claims: new Dictionary<string, object> { ["org_id"] = "org_1", ["tier"] = 3 });
        await using var client = await host.ConnectAsync($"/?token={token}");
        await client.SendTextAsync("""{"action":"tell"}""");
        foreach (var path in new[] { "/connect", "/tell" })
        {
            var request = await backend.WaitForAsync(r => r.Path == path);
            var authorizer = request.Json.GetProperty("requestContext").GetProperty("authorizer");
            Assert.Equal("user-9", authorizer.GetProperty("principalId").GetString());
            Assert.Equal("org_1", authorizer.GetProperty("org_id").GetString());
            Assert.Equal(3, authorizer.GetProperty("tier").GetInt32());
            Assert.Equal(TestTokens.Issuer, authorizer.GetProperty("iss").GetString());
        }
    }

    [Fact]
    public async Task Keys_come_from_an_authority_are_cached_and_a_rotated_key_is_fetched_at_most_once_per_interval()
    {
        await using var idp = await IntegrationBackend.StartAsync();
        var (first, _) = TestTokens.NewRsa("key-1");
        var (second, _) = TestTokens.NewRsa("key-2");
        var published = TestTokens.Jwks(first);
        var issuer = idp.Url("/").ToString();
        idp.Answer = (request, context) => context.Response.WriteAsync(request.Path.EndsWith("openid-configuration", StringComparison.Ordinal)
            ? $$"""{"issuer":"{{issuer}}","jwks_uri":"{{idp.Url("/keys")}}"}"""
            : published);
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:Authority"] = issuer,
            ["Gateway:Auth:Jwt:RequireHttpsMetadata"] = "false",
            ["Gateway:Auth:Jwt:MinKeyRefreshInterval"] = "00:00:30",
        }, g => g.MapRoute<WhoAmI>("whoami"));
        var now = host.Time.GetUtcNow();
        int KeyFetches() => idp.Requests.Count(r => r.Path == "/keys");

        await using (await host.ConnectAsync($"/?token={TestTokens.Mint(now, "a", first, SecurityAlgorithms.RsaSha256, issuer: issuer)}"))
        await using (await host.ConnectAsync($"/?token={TestTokens.Mint(now, "b", first, SecurityAlgorithms.RsaSha256, issuer: issuer)}"))
        {
            Assert.Equal(1, KeyFetches());
        }

        // The identity provider rotates to a new key. A token naming it fetches the set again at once...
        published = TestTokens.Jwks(first, second);
        host.Advance(TimeSpan.FromSeconds(31));
        now = host.Time.GetUtcNow();
        await using (var rotated = await host.ConnectAsync($"/?token={TestTokens.Mint(now, "c", second, SecurityAlgorithms.RsaSha256, issuer: issuer)}"))
        {
            Assert.Equal("c", (await WhoAmIAsync(rotated)).GetProperty("userId").GetString());
        }

        Assert.Equal(2, KeyFetches());

        // ...but an unknown key id cannot make the gateway fetch more often than the interval allows.
        var (stranger, _) = TestTokens.NewRsa("key-x");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, $"/?token={TestTokens.Mint(now, key: stranger, algorithm: SecurityAlgorithms.RsaSha256, issuer: issuer)}"));
        }

        Assert.Equal(2, KeyFetches());
        Assert.Equal(HttpStatusCode.Unauthorized, await RefusedWith(host, $"/?token={TestTokens.Mint(now, key: second, algorithm: SecurityAlgorithms.RsaSha256, issuer: "https://evil.test/")}"));
    }

    [Fact]
    public async Task An_expired_token_closes_the_connection_with_an_error_frame_and_1008_and_a_refresh_extends_it()
    {
        await using var host = await GatewayHost.StartAsync(
            JwtSettings(("Gateway:Auth:Jwt:CloseOnExpiry", "true"), ("Gateway:Auth:Jwt:ClockSkew", "00:00:30")),
            g => g.MapRoute<WhoAmI>("whoami"));
        var start = host.Time.GetUtcNow();
        await using var expiring = await host.ConnectAsync($"/?token={TestTokens.Mint(start, "user-1", lifetime: TimeSpan.FromSeconds(60))}");
        await using var refreshing = await host.ConnectAsync($"/?token={TestTokens.Mint(start, "user-2", lifetime: TimeSpan.FromSeconds(60))}");

        host.Advance(TimeSpan.FromSeconds(10));
        var renewed = TestTokens.Mint(host.Time.GetUtcNow(), "user-2", lifetime: TimeSpan.FromSeconds(300));
        await refreshing.SendTextAsync($$"""{"action":"refresh","data":{"token":"{{renewed}}"},"id":"r1"}""");
        var answer = JsonDocument.Parse(await refreshing.ReceiveTextAsync()).RootElement;
        Assert.Equal("refreshed", answer.GetProperty("type").GetString());
        Assert.Equal("r1", answer.GetProperty("id").GetString());
        Assert.Equal("2026-01-01T00:05:10Z", answer.GetProperty("expiresAt").GetString());

        // A token of another user, or a bad one, is refused and the connection stays as it was.
        await refreshing.SendTextAsync($$"""{"action":"refresh","token":"{{TestTokens.Mint(host.Time.GetUtcNow(), "user-3")}}","id":7}""");
        var refused = JsonDocument.Parse(await refreshing.ReceiveTextAsync()).RootElement;
        Assert.Equal("unauthorized", refused.GetProperty("code").GetString());
        Assert.Equal(7, refused.GetProperty("id").GetInt32());
        await refreshing.SendTextAsync("""{"action":"refresh","token":"not.a.jwt"}""");
        Assert.Equal("unauthorized", JsonDocument.Parse(await refreshing.ReceiveTextAsync()).RootElement.GetProperty("code").GetString());
        await refreshing.SendTextAsync("""{"action":"refresh"}""");
        Assert.Equal("invalid_request", JsonDocument.Parse(await refreshing.ReceiveTextAsync()).RootElement.GetProperty("code").GetString());

        host.Advance(TimeSpan.FromSeconds(75)); // 85 s: inside the first token's lifetime plus skew
        Assert.Equal("user-1", (await WhoAmIAsync(expiring)).GetProperty("userId").GetString());
        host.Advance(TimeSpan.FromSeconds(6)); // 91 s: past it
        var error = JsonDocument.Parse(await expiring.ReceiveTextAsync()).RootElement;
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("unauthorized", error.GetProperty("code").GetString());
        var closed = await expiring.Closed.WithTimeout();
        Assert.Equal(1008, closed.CloseStatus);
        var disconnect = await host.Events.DisconnectOf(expiring.Id);
        Assert.Equal(1008, disconnect.StatusCode);

        // The refreshed connection lives on until its new token expires.
        Assert.Equal("user-2", (await WhoAmIAsync(refreshing)).GetProperty("userId").GetString());
        host.Advance(TimeSpan.FromSeconds(250)); // 341 s: past 310 s plus skew
        Assert.Equal("unauthorized", JsonDocument.Parse(await refreshing.ReceiveTextAsync()).RootElement.GetProperty("code").GetString());
        Assert.Equal(1008, (await refreshing.Closed.WithTimeout()).CloseStatus);
    }

    [Fact]
    public async Task Without_CloseOnExpiry_a_connection_outlives_its_token_as_Amazon_API_Gateway_does()
    {
        await using var host = await GatewayHost.StartAsync(JwtSettings(), g => g.MapRoute<WhoAmI>("whoami"));
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(host.Time.GetUtcNow(), lifetime: TimeSpan.FromSeconds(60))}");
        host.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("user-1", (await WhoAmIAsync(client)).GetProperty("userId").GetString());
    }
}
