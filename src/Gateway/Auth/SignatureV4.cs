using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Auth;

/// <summary>
/// Verifies AWS Signature Version 4 (<c>AWS4-HMAC-SHA256</c>) as the AWS SDKs sign calls to API Gateway's
/// management API: the canonical request over the path as sent (each segment escaped once more, as for every
/// service but S3), the sorted query, the signed headers and the payload hash; a key derived from the secret,
/// date, region and service; and an <c>X-Amz-Date</c> within 15 minutes of now.
/// </summary>
public static class SignatureV4
{
    /// <summary>How far <c>X-Amz-Date</c> may be from now.</summary>
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(15);

    /// <summary>The service name in the credential scope: API Gateway's, as the SDKs sign for the management API.</summary>
    public const string Service = "execute-api";

    /// <summary>Why a signature was refused, or null when it is valid.</summary>
    public static string? Verify(HttpContext context, ReadOnlySpan<byte> body, Func<string, string?> secretOf, DateTimeOffset now) =>
        Verify(context, body, secretOf, now, out _);

    /// <summary>Why a signature was refused, or null when it is valid; <paramref name="accessKeyId"/> is the key that signed it.</summary>
    public static string? Verify(HttpContext context, ReadOnlySpan<byte> body, Func<string, string?> secretOf, DateTimeOffset now, out string accessKeyId)
    {
        accessKeyId = "";
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(secretOf);
        var request = context.Request;
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal))
        {
            return "not a Signature Version 4 authorization";
        }

        var fields = authorization["AWS4-HMAC-SHA256 ".Length..]
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .DistinctBy(p => p[0], StringComparer.Ordinal)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!fields.TryGetValue("Credential", out var credential) || !fields.TryGetValue("SignedHeaders", out var signedHeaders) || !fields.TryGetValue("Signature", out var signature))
        {
            return "the authorization lacks Credential, SignedHeaders or Signature";
        }

        var amzDate = request.Headers["X-Amz-Date"].ToString();
        var payloadHash = request.Headers["X-Amz-Content-Sha256"].ToString();
        var bodyHash = Hex(SHA256.HashData(body));
        if (!string.IsNullOrEmpty(payloadHash) && payloadHash != "UNSIGNED-PAYLOAD" && payloadHash != bodyHash)
        {
            return "the body does not match X-Amz-Content-Sha256";
        }

        return Check(context, secretOf, now, credential, amzDate, signedHeaders, signature, CanonicalQuery(request.QueryString.Value, null), string.IsNullOrEmpty(payloadHash) ? bodyHash : payloadHash, null, null, out accessKeyId);
    }

    /// <summary>
    /// Verifies a presigned request (the signature in the query: <c>X-Amz-Signature</c> and friends), as the AWS
    /// SDKs presign a URL such as a WebSocket handshake's. Why it was refused, or null when it is valid.
    /// </summary>
    public static string? VerifyPresigned(HttpContext context, Func<string, string?> secretOf, DateTimeOffset now, out string accessKeyId)
    {
        accessKeyId = "";
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(secretOf);
        var query = context.Request.Query;
        if (query["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256")
        {
            return "not a Signature Version 4 presigned request";
        }

        if (!int.TryParse(query["X-Amz-Expires"], NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || expires < 1 || expires > 604800)
        {
            return "missing or malformed X-Amz-Expires";
        }

        // A presigned request carries no payload hash: the SDKs sign it over the empty body's or UNSIGNED-PAYLOAD.
        return Check(
            context,
            secretOf,
            now,
            query["X-Amz-Credential"].ToString(),
            query["X-Amz-Date"].ToString(),
            query["X-Amz-SignedHeaders"].ToString(),
            query["X-Amz-Signature"].ToString(),
            CanonicalQuery(context.Request.QueryString.Value, "X-Amz-Signature"),
            Hex(SHA256.HashData([])),
            "UNSIGNED-PAYLOAD",
            TimeSpan.FromSeconds(expires),
            out accessKeyId);
    }

    private static string? Check(
        HttpContext context,
        Func<string, string?> secretOf,
        DateTimeOffset now,
        string credential,
        string amzDate,
        string signedHeaders,
        string signature,
        string canonicalQuery,
        string payloadHash,
        string? otherPayloadHash,
        TimeSpan? expires,
        out string accessKeyId)
    {
        accessKeyId = "";
        var request = context.Request;
        if (credential.Length == 0 || signedHeaders.Length == 0 || signature.Length == 0)
        {
            return "the signature lacks a credential, signed headers or a signature";
        }

        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            return "malformed credential scope";
        }

        if (scope[3] != Service)
        {
            return $"the signature is not for the {Service} service";
        }

        var secret = secretOf(scope[0]);
        if (secret is null)
        {
            return "unknown access key id";
        }

        if (!DateTimeOffset.TryParseExact(amzDate, SigV4Signing.DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt)
            || !amzDate.StartsWith(scope[1], StringComparison.Ordinal))
        {
            return "missing or malformed X-Amz-Date";
        }

        if (expires is { } validFor)
        {
            // Compared from now, which is always representable, so no date in a request can overflow.
            if (now + MaxSkew < signedAt || now - validFor > signedAt)
            {
                return "the presigned request has expired";
            }
        }
        else if ((now - signedAt).Duration() > MaxSkew)
        {
            return "X-Amz-Date is more than 15 minutes from now";
        }

        var headerNames = signedHeaders.Split(';');
        if (!headerNames.Contains("host", StringComparer.Ordinal))
        {
            return "the host header is not signed";
        }

        var canonical = SigV4Signing.CanonicalRequestPrefix(
            SignedMethod(context),
            CanonicalPath(context),
            canonicalQuery,
            headerNames.Select(name => (name, (IEnumerable<string>)(name == "host" ? [request.Host.Value ?? ""] : request.Headers[name].Select(v => v ?? "")))));
        var key = SigV4Signing.SigningKey(secret, scope[1], scope[2], scope[3]);
        var presented = Encoding.ASCII.GetBytes(signature);
        var match = Matches(canonical + payloadHash);
        if (otherPayloadHash is not null)
        {
            match |= Matches(canonical + otherPayloadHash);
        }

        if (!match)
        {
            return "the signature does not match";
        }

        accessKeyId = scope[0];
        return null;

        bool Matches(string canonicalRequest)
        {
            var stringToSign = SigV4Signing.StringToSign(amzDate, string.Join('/', scope[1..]), canonicalRequest);
            return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(SigV4Signing.Signature(key, stringToSign)), presented);
        }
    }

    /// <summary>
    /// The method the client signed. A WebSocket opens with a <c>GET</c> over HTTP/1.1 and with an extended <c>CONNECT</c>
    /// over HTTP/2 (RFC 8441); a client signs the handshake, or presigns its URL, before it knows which, as the <c>GET</c>
    /// the WebSocket protocol defines.
    /// </summary>
    private static string SignedMethod(HttpContext context) =>
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } ? HttpMethods.Get : context.Request.Method;

    /// <summary>The path as the client sent it, each segment URI-escaped once more.</summary>
    private static string CanonicalPath(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        return SigV4Signing.CanonicalPath(query >= 0 ? raw[..query] : raw);
    }

    private static string CanonicalQuery(string? query, string? excluded) => SigV4Signing.CanonicalQuery(query, excluded);

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
