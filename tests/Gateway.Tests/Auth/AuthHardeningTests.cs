using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Auth;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Auth;

/// <summary>Crafted credentials that must neither get in, nor be mistaken for someone else, nor crash a handshake.</summary>
public sealed class AuthHardeningTests
{
    private const string AccessKeyId = "AKIDHARDENING01";
    private const string SecretKey = "hardening-secret-key";

    private static Dictionary<string, string?> SigV4Settings() => new()
    {
        ["Gateway:Management:Credentials:0:AccessKeyId"] = AccessKeyId,
        ["Gateway:Management:Credentials:0:SecretAccessKey"] = SecretKey,
        ["Gateway:Auth:SigV4:Enabled"] = "true",
    };

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    /// <summary>Signature Version 4 over <c>GET /</c> with host and x-amz-date signed and an empty payload.</summary>
    private static string Sign(string host, string amzDate, string service = "execute-api")
    {
        var date = amzDate[..8];
        var canonical = $"GET\n/\n\nhost:{host}\nx-amz-date:{amzDate}\n\nhost;x-amz-date\n{Convert.ToHexStringLower(SHA256.HashData([]))}";
        var toSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{date}/us-east-1/{service}/aws4_request\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + SecretKey), date);
        key = Hmac(key, "us-east-1");
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        return Convert.ToHexStringLower(Hmac(key, toSign));
    }

    [Fact]
    public async Task A_signed_handshake_is_the_access_key_that_signed_it_whatever_else_the_header_says()
    {
        await using var host = await GatewayHost.StartAsync(SigV4Settings(), g => g.MapRoute<WhoAmI>("whoami"));
        var hostHeader = $"127.0.0.1:{host.ClientEndPoint.Port}";
        const string AmzDate = "20260101T000000Z";
        var signature = Sign(hostHeader, AmzDate);
        var spoofed = $"AWS4-HMAC-SHA256 XCredential=root-admin/x, Credential={AccessKeyId}/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}";
        await using var client = await host.ConnectAsync(configure: o => { o.SetRequestHeader("Authorization", spoofed); o.SetRequestHeader("X-Amz-Date", AmzDate); });
        var me = await JwtAuthTests.WhoAmIAsync(client);
        Assert.Equal(AccessKeyId, me.GetProperty("userId").GetString());
        Assert.Equal(AccessKeyId, me.GetProperty("sub").GetString());

        // A signature for another service is not one for this gateway.
        var otherService = $"AWS4-HMAC-SHA256 Credential={AccessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={Sign(hostHeader, AmzDate, "s3")}";
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, "/", o => { o.SetRequestHeader("Authorization", otherService); o.SetRequestHeader("X-Amz-Date", AmzDate); }));
    }

    [Theory]
    [InlineData("00010101", "00010101T000000Z", "60")]
    [InlineData("99991231", "99991231T235959Z", "604800")]
    [InlineData("20260101", "20260101T000000Z", "-5")]
    [InlineData("20260101", "20260101T000000Z", "99999999999")]
    public async Task Presigned_URLs_with_dates_and_expiries_at_the_edges_are_401_never_500(string day, string amzDate, string expires)
    {
        await using var host = await GatewayHost.StartAsync(SigV4Settings());
        var credential = Uri.EscapeDataString($"{AccessKeyId}/{day}/us-east-1/execute-api/aws4_request");
        var path = $"/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date={amzDate}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, path));
    }

    [Fact]
    public async Task Malformed_authorizer_policies_are_not_understood_and_answered_500_by_the_gateway()
    {
        Assert.Null(HttpAuthorizer.Decide("""{"principalId":"p","policyDocument":{"Statement":[{"Action":"execute-api:Invoke","Effect":1}]}}"""u8)?.Identity);
        Assert.Null(HttpAuthorizer.Decide("""{"principalId":"p","policyDocument":{"Statement":[{"Action":[1,{}],"Effect":"Allow"}]}}"""u8)?.Identity);
        Assert.Null(HttpAuthorizer.Decide("[1,2]"u8));

        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (_, c) => c.Response.WriteAsync("""{"principalId":"p","policyDocument":{"Statement":[{"Action":5,"Effect":"Allow"}]}}""");
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Authorizer:Uri"] = backend.Url("/authorize").ToString(),
            ["Gateway:Auth:Authorizer:IdentitySources:0"] = "route.request.header.Auth",
        });
        Assert.Equal(HttpStatusCode.Forbidden, await JwtAuthTests.RefusedWith(host, "/", o => o.SetRequestHeader("Auth", "x")));
        backend.Answer = (_, c) => c.Response.WriteAsync("""{"neither":"format"}""");
        Assert.Equal(HttpStatusCode.InternalServerError, await JwtAuthTests.RefusedWith(host, "/", o => o.SetRequestHeader("Auth", "y")));
    }

    [Fact]
    public async Task The_authorizer_cache_never_shares_a_decision_between_two_identities()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (r, c) =>
        {
            var q = r.Json.GetProperty("queryStringParameters");
            var room = q.GetProperty("room").GetString();
            var allow = room is "lobby" or "b\nc";
            return c.Response.WriteAsync(JsonSerializer.Serialize(new { isAuthorized = allow, principalId = $"{q.GetProperty("a").GetString()}|{room}" }));
        };
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Authorizer:Uri"] = backend.Url("/authorize").ToString(),
            ["Gateway:Auth:Authorizer:IdentitySources:0"] = "route.request.querystring.a",
            ["Gateway:Auth:Authorizer:IdentitySources:1"] = "route.request.querystring.room",
        }, g => g.MapRoute<WhoAmI>("whoami"));

        await using (await host.ConnectAsync("/?a=x&room=b%0Ac"))
        {
        }

        // The same characters split differently are another identity, asked about (and denied) on their own.
        Assert.Equal(HttpStatusCode.Forbidden, await JwtAuthTests.RefusedWith(host, "/?a=x%0Ab&room=c"));
        Assert.Equal(2, backend.Requests.Count);

        // A repeated parameter is judged, and cached, by the value the authorizer was shown (the last one).
        await using (var repeated = await host.ConnectAsync("/?a=y&room=admin&room=lobby"))
        {
            Assert.Equal("y|lobby", (await JwtAuthTests.WhoAmIAsync(repeated)).GetProperty("userId").GetString());
        }

        Assert.Equal(HttpStatusCode.Forbidden, await JwtAuthTests.RefusedWith(host, "/?a=y&room=admin%2Clobby"));
        Assert.Equal(4, backend.Requests.Count);
    }

    [Fact]
    public async Task A_public_key_without_PEM_armour_is_refused_at_start_and_a_PEM_with_a_byte_order_mark_is_read_as_PEM()
    {
        var (rsa, pem) = TestTokens.NewRsa();
        var bare = Convert.ToBase64String(rsa.Rsa.ExportSubjectPublicKeyInfo());
        foreach (var key in new[] { bare, pem.Replace("-----BEGIN PUBLIC KEY-----", "", StringComparison.Ordinal).Replace("-----END PUBLIC KEY-----", "", StringComparison.Ordinal), """{"kty":"RSA","n":"abc","e":"AQAB"}""" })
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Auth:Jwt:SigningKeys:0"] = key }));
            Assert.Contains("PEM armour", error.Message, StringComparison.Ordinal);
        }

        Assert.IsType<RsaSecurityKey>(SigningKeySource.Parse("\uFEFF" + pem));
    }

    [Fact]
    public async Task An_HMAC_token_is_never_checked_against_a_public_key()
    {
        var (rsa, pem) = TestTokens.NewRsa();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Auth:Jwt:SigningKeys:0"] = pem });
        var now = host.Time.GetUtcNow();
        foreach (var bytes in new[] { Encoding.UTF8.GetBytes(pem), Encoding.UTF8.GetBytes(pem.Trim()), rsa.Rsa.ExportSubjectPublicKeyInfo() })
        {
            var forged = TestTokens.Mint(now, "admin", new SymmetricSecurityKey(bytes), SecurityAlgorithms.HmacSha256);
            Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, $"/?token={forged}"));
        }

        await using var honest = await host.ConnectAsync($"/?token={TestTokens.Mint(now, key: rsa, algorithm: SecurityAlgorithms.RsaSha256)}");
    }

    [Fact]
    public async Task An_authority_whose_issuer_is_unknown_accepts_no_token_and_Authority_with_JwksUri_needs_an_Issuer()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:Authority"] = "https://idp.test/",
            ["Gateway:Auth:Jwt:JwksUri"] = "https://idp.test/keys",
        }));
        Assert.Contains("set Issuer", error.Message, StringComparison.Ordinal);

        await using var idp = await IntegrationBackend.StartAsync();
        var (key, _) = TestTokens.NewRsa("key-1");
        idp.Answer = (request, context) => context.Response.WriteAsync(request.Path.EndsWith("openid-configuration", StringComparison.Ordinal)
            ? $$"""{"jwks_uri":"{{idp.Url("/keys")}}"}"""
            : TestTokens.Jwks(key));
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:Authority"] = idp.Url("/").ToString(),
            ["Gateway:Auth:Jwt:RequireHttpsMetadata"] = "false",
        });
        var now = host.Time.GetUtcNow();
        foreach (var issuer in new[] { idp.Url("/").ToString(), "https://evil.test/" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, $"/?token={TestTokens.Mint(now, "x", key, SecurityAlgorithms.RsaSha256, issuer: issuer)}"));
        }
    }

    [Fact]
    public async Task A_token_that_expires_at_the_end_of_time_is_valid_and_never_closes_the_connection()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:CloseOnExpiry"] = "true",
        }, g => g.MapRoute<WhoAmI>("whoami"));
        var now = host.Time.GetUtcNow();
        var forever = new DateTimeOffset(9999, 12, 31, 23, 59, 59, TimeSpan.Zero) - now;
        await using var client = await host.ConnectAsync($"/?token={TestTokens.Mint(now, lifetime: forever)}");
        host.Advance(TimeSpan.FromMinutes(5)); // within the idle timeout: only a wrong expiry deadline could close it
        Assert.Equal("user-1", (await JwtAuthTests.WhoAmIAsync(client)).GetProperty("userId").GetString());
    }
}
