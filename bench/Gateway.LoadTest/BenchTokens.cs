using System.Security.Cryptography;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>JWTs for the handshake runs, signed here as an identity provider would (HS256 or RS256).</summary>
public static class BenchTokens
{
    public const string Secret = "load-test-signing-secret-of-32-bytes-or-more";
    public const string Issuer = "https://idp.bench/";
    private static readonly RSA Rsa = RSA.Create(2048);

    /// <summary>The RSA public key the gateway checks RS256 tokens with.</summary>
    public static string RsaPublicPem => Rsa.ExportSubjectPublicKeyInfoPem();

    /// <summary>An HS256 token of <paramref name="subject"/> (a user id made of letters, digits and dashes).</summary>
    public static string Hs256(string subject = "bench-user") => Sign("HS256", subject, data => HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), data));

    public static string Rs256() => Sign("RS256", "bench-user", data => Rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    private static string Sign(string alg, string subject, Func<byte[], byte[]> signature)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var head = B64(Encoding.UTF8.GetBytes($$"""{"alg":"{{alg}}","typ":"JWT"}"""));
        var body = B64(Encoding.UTF8.GetBytes($$"""{"sub":"{{subject}}","iss":"{{Issuer}}","iat":{{now}},"exp":{{now + 3600}}}"""));
        return $"{head}.{body}.{B64(signature(Encoding.ASCII.GetBytes($"{head}.{body}")))}";
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
