using System.Security.Cryptography;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>JWTs for the handshake runs, signed here as an identity provider would (HS256 or RS256).</summary>
public static class BenchTokens
{
    public const string Secret = "load-test-signing-secret-of-32-bytes-or-more";
    public const string Issuer = "https://idp.bench/";
    private static readonly RSA Rsa = RSA.Create(2048);
    private static long _serial;

    /// <summary>The RSA public key the gateway checks RS256 tokens with.</summary>
    public static string RsaPublicPem => Rsa.ExportSubjectPublicKeyInfoPem();

    /// <summary>An HS256 token of <paramref name="subject"/> (a user id made of letters, digits and dashes).</summary>
    public static string Hs256(string subject = "bench-user") => Sign("HS256", subject, NextId(), data => HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), data));

    public static string Rs256() => Sign("RS256", "bench-user", NextId(), data => Rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    /// <summary>
    /// <paramref name="count"/> tokens signed before a window starts, each of its own subject and <c>jti</c>, so that no
    /// two handshakes present the same token (nothing the gateway could remember from one handshake serves the next).
    /// </summary>
    public static string[] Distinct(bool rsa, int count)
    {
        var tokens = new string[count];
        var first = Interlocked.Add(ref _serial, count) - count;
        var key = Encoding.UTF8.GetBytes(Secret);
        // Signing is spread over the cores; each worker signs with its own copy of the RSA key.
        Parallel.For(0, count, () => rsa ? CopyOfRsa() : null, (i, _, signer) =>
        {
            var n = first + i;
            tokens[i] = signer is null
                ? Sign("HS256", $"bench-user-{n}", n, data => HMACSHA256.HashData(key, data))
                : Sign("RS256", $"bench-user-{n}", n, data => signer.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
            return signer;
        }, signer => signer?.Dispose());
        return tokens;
    }

    private static RSA CopyOfRsa()
    {
        var copy = RSA.Create();
        copy.ImportParameters(Rsa.ExportParameters(true));
        return copy;
    }

    private static long NextId() => Interlocked.Increment(ref _serial) - 1;

    private static string Sign(string alg, string subject, long id, Func<byte[], byte[]> signature)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var head = B64(Encoding.UTF8.GetBytes($$"""{"alg":"{{alg}}","typ":"JWT"}"""));
        var body = B64(Encoding.UTF8.GetBytes($$"""{"sub":"{{subject}}","jti":"t{{id}}","iss":"{{Issuer}}","iat":{{now}},"exp":{{now + 3600}}}"""));
        return $"{head}.{body}.{B64(signature(Encoding.ASCII.GetBytes($"{head}.{body}")))}";
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
