using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Infrastructure;

/// <summary>Mints JWTs the way an identity provider would, on the test's clock.</summary>
public static class TestTokens
{
    public const string Secret = "a-test-signing-secret-of-at-least-32-bytes!";
    public const string Issuer = "https://idp.test/";
    public const string Audience = "gateway-clients";

    public static readonly SymmetricSecurityKey HmacKey = new(Encoding.UTF8.GetBytes(Secret));

    /// <summary>A token signed by <paramref name="key"/> (HS256 by default), valid from <paramref name="now"/> for <paramref name="lifetime"/>.</summary>
    public static string Mint(
        DateTimeOffset now,
        string subject = "user-1",
        SecurityKey? key = null,
        string? algorithm = null,
        TimeSpan? lifetime = null,
        string issuer = Issuer,
        string audience = Audience,
        IDictionary<string, object>? claims = null,
        DateTimeOffset? notBefore = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = (notBefore ?? now).UtcDateTime,
            Expires = (now + (lifetime ?? TimeSpan.FromMinutes(5))).UtcDateTime,
            Claims = new Dictionary<string, object>(claims ?? new Dictionary<string, object>()) { ["sub"] = subject },
            SigningCredentials = new SigningCredentials(key ?? HmacKey, algorithm ?? SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>The same claims with no signature at all (<c>alg: none</c>).</summary>
    public static string WithoutSignature(DateTimeOffset now, string subject = "user-1")
    {
        static string B64(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        var exp = (now + TimeSpan.FromMinutes(5)).ToUnixTimeSeconds();
        return $"{B64("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{B64($"{{\"sub\":\"{subject}\",\"iss\":\"{Issuer}\",\"aud\":\"{Audience}\",\"exp\":{exp}}}")}.";
    }

    public static (RsaSecurityKey Private, string PublicPem) NewRsa(string? keyId = null)
    {
        var rsa = RSA.Create(2048);
        return (new RsaSecurityKey(rsa) { KeyId = keyId }, rsa.ExportSubjectPublicKeyInfoPem());
    }

    public static (ECDsaSecurityKey Private, string PublicPem) NewEc(string? keyId = null)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (new ECDsaSecurityKey(ec) { KeyId = keyId }, ec.ExportSubjectPublicKeyInfoPem());
    }

    /// <summary>A JSON Web Key Set holding the public halves of <paramref name="keys"/>.</summary>
    public static string Jwks(params RsaSecurityKey[] keys)
    {
        var entries = keys.Select(k =>
        {
            var p = k.Rsa.ExportParameters(false);
            return $"{{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"{k.KeyId}\",\"n\":\"{Base64UrlEncoder.Encode(p.Modulus)}\",\"e\":\"{Base64UrlEncoder.Encode(p.Exponent)}\"}}";
        });
        return $"{{\"keys\":[{string.Join(',', entries)}]}}";
    }
}
