using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Auth;

/// <summary>
/// The arithmetic of AWS Signature Version 4 (<c>AWS4-HMAC-SHA256</c>), with no web types: the canonical path, query
/// and request, the string to sign, the derived key and the signature. The server's verifier and the .NET management
/// client both compile this one file, so what one signs the other checks the same way.
/// </summary>
internal static class SigV4Signing
{
    /// <summary>The algorithm's name, as the authorization header and the string to sign start.</summary>
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The format of <c>X-Amz-Date</c>.</summary>
    public const string DateFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>The hash of an empty payload, in lowercase hex.</summary>
    public static readonly string EmptyPayloadHash = HashHex([]);

    /// <summary>A path as sent, each segment URI-escaped once more (as for every service but S3).</summary>
    public static string CanonicalPath(string rawPath)
    {
        ArgumentNullException.ThrowIfNull(rawPath);
        var path = rawPath.Length == 0 ? "/" : rawPath;
        return string.Join('/', path.Split('/').Select(Escape));
    }

    /// <summary>The query sorted by name then value, each escaped once; <paramref name="excluded"/> is left out (a presigned URL's signature).</summary>
    public static string CanonicalQuery(string? query, string? excluded = null)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return "";
        }

        var pairs = query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => (Name: Uri.UnescapeDataString(p[0]), Value: Uri.UnescapeDataString(p.Length > 1 ? p[1] : "")))
            .Where(p => p.Name != excluded)
            .Select(p => (Name: Escape(p.Name), Value: Escape(p.Value)))
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal);
        return string.Join('&', pairs.Select(p => $"{p.Name}={p.Value}"));
    }

    /// <summary>
    /// The canonical request up to, not including, the payload hash: method, canonical path and query, each signed
    /// header as <c>name:value</c> (its values trimmed, inner spaces collapsed, joined by commas), and the signed
    /// header list. The verifier tries more than one payload hash against one such prefix.
    /// </summary>
    public static string CanonicalRequestPrefix(string method, string canonicalPath, string canonicalQuery, IEnumerable<(string Name, IEnumerable<string> Values)> signedHeaders)
    {
        ArgumentNullException.ThrowIfNull(signedHeaders);
        var canonical = new StringBuilder()
            .Append(method).Append('\n')
            .Append(canonicalPath).Append('\n')
            .Append(canonicalQuery).Append('\n');
        var names = new List<string>();
        foreach (var (name, values) in signedHeaders)
        {
            names.Add(name);
            canonical.Append(name).Append(':').Append(string.Join(',', values.Select(CollapseSpaces))).Append('\n');
        }

        return canonical.Append('\n').Append(string.Join(';', names)).Append('\n').ToString();
    }

    /// <summary><c>{date}/{region}/{service}/aws4_request</c>.</summary>
    public static string Scope(string date, string region, string service) => $"{date}/{region}/{service}/aws4_request";

    /// <summary>The string to sign over a whole canonical request.</summary>
    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        $"{Algorithm}\n{amzDate}\n{scope}\n{HashHex(Encoding.UTF8.GetBytes(canonicalRequest))}";

    /// <summary>The key derived from the secret for one date, region and service.</summary>
    public static byte[] SigningKey(string secret, string date, string region, string service)
    {
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        return Hmac(key, "aws4_request");
    }

    /// <summary>The signature of a string to sign, in lowercase hex.</summary>
    public static string Signature(byte[] signingKey, string stringToSign) => Convert.ToHexStringLower(Hmac(signingKey, stringToSign));

    /// <summary>The SHA-256 of <paramref name="bytes"/> in lowercase hex.</summary>
    public static string HashHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>RFC 3986 escaping as SigV4 defines it: everything but A-Z a-z 0-9 - _ . ~.</summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static string CollapseSpaces(string? value) => string.Join(' ', (value ?? "").Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}
