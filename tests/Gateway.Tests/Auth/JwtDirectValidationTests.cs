using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gateway.Auth;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Auth;

/// <summary>
/// The common JWT shape is accepted without the general handler: every token here goes over a real socket, and the
/// gateway's decision and the identity it gives the connection are compared with what the handler alone makes of the
/// same token at the same moment.
/// </summary>
public sealed class JwtDirectValidationTests
{
    private static string B64(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));

    /// <summary>A token with this header and payload, HS256-signed with <paramref name="secret"/> (by default the configured one).</summary>
    private static string Hs256(string header, string payload, string secret = TestTokens.Secret)
    {
        var input = $"{B64(header)}.{B64(payload)}";
        return $"{input}.{Base64UrlEncoder.Encode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(input)))}";
    }

    private static string Claims(DateTimeOffset now, string more = "", string audience = $"\"{TestTokens.Audience}\"", long? exp = null) =>
        $$"""{"sub":"user-1","iss":"{{TestTokens.Issuer}}","aud":{{audience}},"exp":{{exp ?? (now + TimeSpan.FromMinutes(5)).ToUnixTimeSeconds()}}{{more}}}""";

    private const string Header = """{"alg":"HS256","typ":"JWT"}""";

    /// <summary>
    /// Connects with <paramref name="token"/> and checks that the outcome is the handler's: refused with 401 when it
    /// refuses, otherwise the same user, authorizer object, expiry and claims; and that it was decided directly or not.
    /// </summary>
    private static async Task SameAsHandler(GatewayHost host, string what, string token, bool accepted, bool direct)
    {
        var jwt = host.Services.GetRequiredService<ConnectAuthenticator>().Jwt!;
        var (expected, _) = await jwt.ValidateWithHandlerAsync(token, keysEnsured: false, CancellationToken.None).AsTask().WithTimeout();
        Assert.True(accepted == expected is not null, $"{what}: the handler {(expected is null ? "refuses" : "accepts")} it");
        var before = jwt.AcceptedDirectly;
        if (expected is null)
        {
            Assert.True(HttpStatusCode.Unauthorized == await JwtAuthTests.RefusedWith(host, $"/?token={Uri.EscapeDataString(token)}"), what);
            Assert.True(before == jwt.AcceptedDirectly, $"{what}: refused, yet counted as accepted directly");
            return;
        }

        await using var client = await host.ConnectAsync($"/?token={Uri.EscapeDataString(token)}");
        Assert.True((jwt.AcceptedDirectly == before + 1) == direct, $"{what}: expected to be decided {(direct ? "directly" : "by the handler")}");
        var actual = host.Connection(client.Id).Identity!;
        Assert.Equal("jwt", actual.Method);
        Assert.True(expected.UserId == actual.UserId, $"{what}: user id {actual.UserId} instead of {expected.UserId}");
        Assert.True(expected.ExpiresAt == actual.ExpiresAt, $"{what}: expiry {actual.ExpiresAt} instead of {expected.ExpiresAt}");
        Assert.True(
            expected.AuthorizerJson!.Value.Span.SequenceEqual(actual.AuthorizerJson!.Value.Span),
            $"{what}: authorizer {Encoding.UTF8.GetString(actual.AuthorizerJson!.Value.Span)} instead of {Encoding.UTF8.GetString(expected.AuthorizerJson!.Value.Span)}");
        static string Of(System.Security.Claims.ClaimsPrincipal p) =>
            $"{p.Identity!.AuthenticationType}|{p.Identity.Name}|" + string.Join('\n', p.Claims.Select(c => $"{c.Type}={c.Value}:{c.ValueType}@{c.Issuer}/{c.OriginalIssuer}"));
        Assert.Equal(Of(expected.Principal), Of(actual.Principal));
    }

    [Fact]
    public async Task HS256_tokens_are_decided_as_the_handler_decides_them_whatever_their_claims_and_encoding()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Auth:Jwt:ClockSkew"] = "00:00:30",
        });
        var now = host.Time.GetUtcNow();
        var good = TestTokens.Mint(now, "user-1");
        var parts = good.Split('.');
        var other = TestTokens.Mint(now, "user-2").Split('.');

        // Accepted, and without the handler.
        await SameAsHandler(host, "minted by the handler's library", good, accepted: true, direct: true);
        foreach (var subject in new[] { "a", "ab", "abc", "abcd" })
        {
            // Payloads whose base64url text is 0, 2 or 3 characters past a multiple of four.
            await SameAsHandler(host, $"subject {subject}", Hs256(Header, Claims(now).Replace("user-1", subject, StringComparison.Ordinal)), accepted: true, direct: true);
        }

        await SameAsHandler(host, "audience as an array", Hs256(Header, Claims(now, audience: $"[\"someone-else\",\"{TestTokens.Audience}\"]")), accepted: true, direct: true);
        await SameAsHandler(host, "expired within the skew", Hs256(Header, Claims(now, exp: (now - TimeSpan.FromSeconds(20)).ToUnixTimeSeconds())), accepted: true, direct: true);
        await SameAsHandler(host, "valid from within the skew", Hs256(Header, Claims(now, $",\"nbf\":{(now + TimeSpan.FromSeconds(20)).ToUnixTimeSeconds()}")), accepted: true, direct: true);
        await SameAsHandler(host, "expires at the end of time", Hs256(Header, Claims(now, exp: 253_402_300_799)), accepted: true, direct: true);
        await SameAsHandler(host, "every kind of claim value", Hs256(Header, Claims(now, """
            ,"org":{"id":"org_1","tags":["a",1,true,null,{"x":1.50}]},"n":12345678901234567890,"f":-0.5e3,"yes":true,"none":null,
            "esc":"caf\u00e9 \"q\" <\/b> \ud83d\ude00","raw":"日本","na\u006de":"escaped name","principalId":"spoof","empty":{},"list":[]
            """)), accepted: true, direct: true);
        await SameAsHandler(host, "a claim named twice, the user id too", Hs256(Header, Claims(now, ",\"org\":\"first\",\"org\":\"second\",\"sub\":\"user-9\"")), accepted: true, direct: true);
        await SameAsHandler(host, "a numeric subject", Hs256(Header, Claims(now).Replace("\"user-1\"", "42", StringComparison.Ordinal)), accepted: true, direct: true);
        await SameAsHandler(host, "whitespace around the JSON", Hs256(" { \"alg\" : \"HS256\" }\n", "\n  " + Claims(now).Replace(",", " ,\n ", StringComparison.Ordinal) + "  "), accepted: true, direct: true);

        // Left to the handler, which accepts them.
        await SameAsHandler(host, "a header the direct path does not read", Hs256("""{"alg":"HS256","typ":"JWT","cty":"JWT"}""", Claims(now)), accepted: true, direct: false);
        await SameAsHandler(host, "an audience with a trailing slash", Hs256(Header, Claims(now, audience: $"\"{TestTokens.Audience}/\"")), accepted: true, direct: false);

        // Refused, as the handler refuses them.
        var wrongKey = new SymmetricSecurityKey("another-secret-that-is-32-bytes-long!!"u8.ToArray());
        var refused = new Dictionary<string, string>
        {
            ["wrong signature"] = TestTokens.Mint(now, key: wrongKey),
            ["alg none"] = TestTokens.WithoutSignature(now),
            ["alg none with the signature of another token"] = $"{B64("""{"alg":"none"}""")}.{parts[1]}.{parts[2]}",
            ["tampered payload, original signature"] = $"{parts[0]}.{other[1]}.{parts[2]}",
            ["HS384 header over an HS256 signature"] = Hs256("""{"alg":"HS384"}""", Claims(now)),
            ["expired beyond the skew"] = Hs256(Header, Claims(now, exp: (now - TimeSpan.FromSeconds(31)).ToUnixTimeSeconds())),
            ["valid from beyond the skew"] = Hs256(Header, Claims(now, $",\"nbf\":{(now + TimeSpan.FromSeconds(31)).ToUnixTimeSeconds()}")),
            ["no expiry"] = Hs256(Header, Claims(now).Replace("\"exp\"", "\"exq\"", StringComparison.Ordinal)),
            ["expiry as a string"] = Hs256(Header, Claims(now).Replace("\"exp\":", "\"exp\":\"1\",\"x\":", StringComparison.Ordinal)),
            ["wrong issuer"] = TestTokens.Mint(now, issuer: "https://evil.test/"),
            ["issuer differing in case"] = TestTokens.Mint(now, issuer: TestTokens.Issuer.ToUpperInvariant()),
            ["audience array without ours"] = Hs256(Header, Claims(now, audience: "[\"someone-else\",\"gateway\"]")),
            ["no audience"] = Hs256(Header, Claims(now, audience: "[]")),
            ["a fourth part"] = good + ".e30",
            ["a signature cut short"] = good[..^2],
            ["a subject that is an object"] = Hs256(Header, Claims(now).Replace("\"user-1\"", "{\"id\":1}", StringComparison.Ordinal)),
        };
        foreach (var (what, token) in refused)
        {
            await SameAsHandler(host, what, token, accepted: false, direct: false);
        }

        // Encodings that are not the one canonical base64url text of their bytes are the handler's to judge (it takes
        // some of them), and the gateway then decides as it does.
        var last = parts[2][^1];
        var edges = new Dictionary<string, string>
        {
            ["padding after the signature"] = good + "=",
            ["padding after the payload"] = $"{parts[0]}.{parts[1]}==.{parts[2]}",
            ["base64 instead of base64url"] = $"{parts[0]}.{parts[1].Replace('-', '+').Replace('_', '/')}.{parts[2].Replace('-', '+').Replace('_', '/')}",
            ["stray bits at the end of the signature"] = $"{parts[0]}.{parts[1]}.{parts[2][..^1]}{(char)(last == 'z' ? 'y' : last + 1)}",
            ["whitespace inside"] = $"{parts[0]}.{parts[1]} .{parts[2]}",
        };
        var jwt = host.Services.GetRequiredService<ConnectAuthenticator>().Jwt!;
        foreach (var (what, token) in edges)
        {
            var (verdict, _) = await jwt.ValidateWithHandlerAsync(token, keysEnsured: false, CancellationToken.None).AsTask().WithTimeout();
            await SameAsHandler(host, what, token, accepted: verdict is not null, direct: false);
        }
    }

    [Fact]
    public async Task Keys_are_chosen_by_kid_and_no_token_is_checked_against_a_key_of_another_kind()
    {
        await using var idp = await IntegrationBackend.StartAsync();
        var (first, firstPem) = TestTokens.NewRsa("key-1");
        var (second, _) = TestTokens.NewRsa("key-2");
        var (ec, ecPem) = TestTokens.NewEc();
        idp.Answer = (_, context) => context.Response.WriteAsync(TestTokens.Jwks(first, second));
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:JwksUri"] = idp.Url("/keys").ToString(),
            ["Gateway:Auth:Jwt:RequireHttpsMetadata"] = "false",
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:SigningKeys:0"] = ecPem,
        });
        var now = host.Time.GetUtcNow();
        string Rs(RsaSecurityKey key, string? kid = null, string subject = "user-1")
        {
            var signing = kid is null ? key : new RsaSecurityKey(key.Rsa) { KeyId = kid };
            return TestTokens.Mint(now, subject, signing, SecurityAlgorithms.RsaSha256);
        }

        // The first token fetches the key set, as the handler path does; both keys then verify directly.
        await SameAsHandler(host, "RS256 by the second key, named", Rs(second), accepted: true, direct: true);
        await SameAsHandler(host, "RS256 by the first key, named", Rs(first, subject: "user-2"), accepted: true, direct: true);
        await SameAsHandler(host, "ES256 by a configured PEM key", TestTokens.Mint(now, "ec-user", ec, SecurityAlgorithms.EcdsaSha256), accepted: true, direct: true);

        // The handler tries every key whatever the kid says; so does the gateway, after the one named.
        await SameAsHandler(host, "RS256 by the first key, naming the second", Rs(first, "key-2"), accepted: true, direct: true);
        Assert.Single(idp.Requests);

        var (stranger, strangerPem) = TestTokens.NewRsa("key-2");
        await SameAsHandler(host, "RS256 by an unknown key that takes a known kid", Rs(stranger), accepted: false, direct: false);

        // Algorithm confusion: HMAC over the public keys' own bytes, and an RS256 header over an HMAC, are refused.
        foreach (var secret in new[] { firstPem, strangerPem, ecPem })
        {
            var forged = TestTokens.Mint(now, "admin", new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256);
            await SameAsHandler(host, "HS256 over a public key's text", forged, accepted: false, direct: false);
        }

        var hmacUnderRsaHeader = Hs256("""{"alg":"RS256","kid":"key-1"}""", $$"""{"sub":"admin","iss":"{{TestTokens.Issuer}}","exp":{{(now + TimeSpan.FromMinutes(5)).ToUnixTimeSeconds()}}}""", firstPem);
        await SameAsHandler(host, "an HMAC under an RS256 header", hmacUnderRsaHeader, accepted: false, direct: false);
        var rs = Rs(first).Split('.');
        await SameAsHandler(host, "ES256 header over an RS256 signature", $"{B64("""{"alg":"ES256"}""")}.{rs[1]}.{rs[2]}", accepted: false, direct: false);
    }
}
