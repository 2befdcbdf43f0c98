using System.Security.Cryptography;
using System.Text;
using Gateway.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Gateway.Auth;

namespace Gateway.Management;

/// <summary>
/// Who may call the management API. With credentials configured (API keys or access keys), every call must carry
/// one: an API key in <c>x-api-key</c> or <c>Authorization: Bearer</c>, or an AWS Signature Version 4 signature by
/// a configured access key, as the AWS SDKs send; and, for the dashboard only, HTTP Basic (an access key id and its
/// secret, or an API key as the password), as a browser sends it. With none configured, anonymous calls are accepted
/// only from the local machine itself, addressed to it by a loopback name, and not from another site's web page; a
/// request a proxy forwarded is never taken as local. <c>AllowAnonymous</c> opens it to all.
/// </summary>
public sealed class ManagementAccess(IOptions<GatewayOptions> options, TimeProvider time, GatewayConfiguration? configuration = null) : IAccessKeyStore
{
    private Keys _keys = new(options.Value.Management);

    /// <summary>True when credentials are configured, so that anonymous calls are refused (unless allowed).</summary>
    public bool RequiresCredentials => Current.RequiresCredentials;

    /// <summary>The secret of a configured access key, or null for an unknown key id.</summary>
    public string? SecretOf(string accessKeyId) => Current.Secrets.GetValueOrDefault(accessKeyId);

    /// <summary>
    /// The keys of the configuration now: built again, once, by the first call after a reload, so that a call is checked
    /// against the keys current when it arrives.
    /// </summary>
    private Keys Current
    {
        get
        {
            var keys = Volatile.Read(ref _keys);
            if (configuration?.Current.Management is { } management && !ReferenceEquals(management, keys.Options))
            {
                // Two calls that race here build the same keys; either may be kept.
                keys = new Keys(management);
                Volatile.Write(ref _keys, keys);
            }

            return keys;
        }
    }

    /// <summary>Null when the call may go ahead; otherwise why it is refused (403 <c>ForbiddenException</c>).</summary>
    public string? Refusal(HttpContext context, ReadOnlySpan<byte> body) => Refusal(context, body, allowBasic: false);

    /// <summary>
    /// As <see cref="Refusal(HttpContext, ReadOnlySpan{byte})"/>; <paramref name="allowBasic"/> also takes HTTP Basic
    /// (the dashboard's browser login), which the AWS-compatible API does not.
    /// </summary>
    public string? Refusal(HttpContext context, ReadOnlySpan<byte> body, bool allowBasic)
    {
        ArgumentNullException.ThrowIfNull(context);
        var headers = context.Request.Headers;
        var keys = Current;
        if (!keys.RequiresCredentials)
        {
            // No credentials exist to check against: whatever a client signs with (the SDKs always sign) is
            // ignored, and the anonymous rule decides.
            return keys.AllowAnonymous ? null : LocalOnly(context);
        }

        var authorization = headers.Authorization.ToString();
        if (authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal))
        {
            return SignatureV4.Verify(context, body, keys.Secrets.GetValueOrDefault, time.GetUtcNow());
        }

        if (allowBasic && authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return BasicRefusal(keys, authorization["Basic ".Length..].Trim());
        }

        var key = headers["x-api-key"].ToString();
        if (key.Length == 0 && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            key = authorization["Bearer ".Length..].Trim();
        }

        if (key.Length > 0)
        {
            return IsApiKey(keys, key) ? null : "unknown API key";
        }

        return keys.AllowAnonymous ? null : CredentialsRequired;
    }

    private static bool IsApiKey(Keys keys, string key)
    {
        var presented = Encoding.UTF8.GetBytes(key);
        var match = false;
        foreach (var known in keys.ApiKeys)
        {
            // Constant time, and every key compared, so timing tells nothing about which keys exist.
            match |= CryptographicOperations.FixedTimeEquals(presented, known);
        }

        return match;
    }

    /// <summary>
    /// HTTP Basic, which is how a browser carries credentials to the dashboard: an access key id and its secret, or
    /// any user name with an API key as the password.
    /// </summary>
    private static string? BasicRefusal(Keys keys, string encoded)
    {
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            return "malformed Basic credentials";
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return "malformed Basic credentials";
        }

        var (user, password) = (decoded[..colon], decoded[(colon + 1)..]);
        if (keys.Secrets.GetValueOrDefault(user) is { } secret)
        {
            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(password)), SHA256.HashData(Encoding.UTF8.GetBytes(secret)))
                ? null
                : "wrong secret for the access key";
        }

        return IsApiKey(keys, password) ? null : "unknown API key";
    }

    /// <summary>The message for a call that carries no credentials where they are required.</summary>
    public const string CredentialsRequired = "credentials are required";

    private static string? LocalOnly(HttpContext context)
    {
        var headers = context.Request.Headers;
        var forwarded = headers.ContainsKey("X-Forwarded-For") || headers.ContainsKey("Forwarded") || headers.ContainsKey("X-Real-IP");
        if (forwarded || context.Connection.RemoteIpAddress is not { } address || !System.Net.IPAddress.IsLoopback(address))
        {
            return "anonymous calls are accepted from the local machine only";
        }

        // A browser page of another site can reach a loopback port too: through a name it rebinds to 127.0.0.1 (its
        // Host is then that name), or with a cross-site request (its Origin is another site). Neither is taken as local.
        if (!IsLoopbackName(context.Request.Host.Host))
        {
            return "anonymous calls must address this machine as localhost or a loopback address";
        }

        var origin = headers.Origin.ToString();
        return origin.Length > 0 && (!Uri.TryCreate(origin, UriKind.Absolute, out var page) || !IsLoopbackName(page.Host))
            ? "anonymous calls from a web page of another site are refused"
            : null;
    }

    private static bool IsLoopbackName(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));

    /// <summary>The credentials of one configuration, as compared.</summary>
    private sealed class Keys(ManagementOptions options)
    {
        public ManagementOptions Options { get; } = options;

        public bool AllowAnonymous { get; } = options.AllowAnonymous;

        public byte[][] ApiKeys { get; } = [.. options.ApiKeys.Select(Encoding.UTF8.GetBytes)];

        public Dictionary<string, string> Secrets { get; } = options.Credentials
            .GroupBy(c => c.AccessKeyId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().SecretAccessKey, StringComparer.Ordinal);

        public bool RequiresCredentials => ApiKeys.Length > 0 || Secrets.Count > 0;
    }
}
