using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Gateway.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Auth;

/// <summary>
/// The keys JWTs may be signed with: those in configuration, and those of a JSON Web Key Set (named directly or
/// found through an OpenID Connect authority), fetched on first use, kept for <c>KeyRefreshInterval</c>, and fetched
/// again early when a token names a key id not in the set (key rotation), at most once per <c>MinKeyRefreshInterval</c>.
/// Times come from the injected clock.
/// </summary>
public sealed partial class SigningKeySource
{
    /// <summary>The named HTTP client key sets and discovery documents are fetched with.</summary>
    public const string ClientName = "Gateway.Auth";

    private readonly JwtAuthOptions _options;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SecurityKey[] _configured;
    private readonly Lock _gate = new();
    private volatile SecurityKey[] _all;
    private Task? _fetch;
    private long _fetchedAtTicks; // 0 until the first successful fetch
    private long _attemptedAtTicks; // 0 until the first attempt

    /// <summary>Creates the source; configured keys are parsed at once (they were validated at start).</summary>
    public SigningKeySource(JwtAuthOptions options, IHttpClientFactory http, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _http = http;
        _time = time;
        _logger = logger;
        _configured = [.. options.SigningKeys.Select(Parse)];
        _all = _configured;
    }

    /// <summary>True when keys come from a URL.</summary>
    public bool IsRemote => !string.IsNullOrWhiteSpace(_options.JwksUri) || !string.IsNullOrWhiteSpace(_options.Authority);

    /// <summary>The issuer the authority's discovery document names, once fetched.</summary>
    public string? DiscoveredIssuer { get; private set; }

    /// <summary>Every key known now.</summary>
    public IReadOnlyList<SecurityKey> Current => _all;

    /// <summary>Makes sure the keys are fresh, and that <paramref name="keyId"/> is among them if it can be.</summary>
    public async ValueTask EnsureAsync(string? keyId, CancellationToken cancellationToken)
    {
        if (!IsRemote)
        {
            return;
        }

        var now = _time.GetUtcNow().UtcTicks;
        var fetchedAt = Volatile.Read(ref _fetchedAtTicks);
        var attemptedAt = Volatile.Read(ref _attemptedAtTicks);
        // A failed fetch is not retried before MinKeyRefreshInterval either, so an outage of the key source is not hammered.
        var mayFetch = attemptedAt == 0 || now - attemptedAt >= _options.MinKeyRefreshInterval.Ticks;
        var stale = (fetchedAt == 0 || now - fetchedAt >= _options.KeyRefreshInterval.Ticks) && mayFetch;
        var known = string.IsNullOrEmpty(keyId) ? _all.Length > 0 : _all.Any(k => k.KeyId == keyId);
        var unknown = mayFetch && !known;
        if (!stale && !unknown)
        {
            return;
        }

        Task fetch;
        lock (_gate)
        {
            // One fetch at a time, shared by every handshake that needs it.
            _fetch ??= FetchAsync();
            fetch = _fetch;
        }

        if (known && fetchedAt != 0)
        {
            // Keys that are only old keep serving while the set is fetched again in the background.
            return;
        }

        await fetch.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Parses one configured key: PEM (certificate, RSA or EC public key) or an HMAC secret. Text that is key material
    /// without its PEM armour (a bare base64 public key, a JSON Web Key) is refused rather than taken as a secret, since
    /// anyone who knows a public key could then sign tokens with it.
    /// </summary>
    public static SecurityKey Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var text = key.Trim().TrimStart('\uFEFF').Trim();
        if (!text.StartsWith("-----BEGIN ", StringComparison.Ordinal))
        {
            if (LooksLikeKeyMaterial(text))
            {
                throw new ArgumentException("this looks like a public key, certificate or JSON Web Key without its PEM armour (-----BEGIN PUBLIC KEY-----); it is not used as an HMAC secret");
            }

            return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key));
        }

        if (text.Contains("CERTIFICATE", StringComparison.Ordinal))
        {
            return new X509SecurityKey(X509Certificate2.CreateFromPem(text));
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(text);
            return new RsaSecurityKey(rsa);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(text);
            return new ECDsaSecurityKey(ec);
        }
        catch
        {
            ec.Dispose();
            throw;
        }
    }

    private static bool LooksLikeKeyMaterial(string text)
    {
        if (text.StartsWith('{') || text.Contains("PUBLIC KEY", StringComparison.Ordinal) || text.Contains("PRIVATE KEY", StringComparison.Ordinal) || text.Contains("CERTIFICATE", StringComparison.Ordinal))
        {
            return true;
        }

        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text, buffer, out var length) || length < 32)
        {
            return false;
        }

        var der = buffer.AsMemory(0, length);
        using var rsa = RSA.Create();
        using var ec = ECDsa.Create();
        return TryImport(() => rsa.ImportSubjectPublicKeyInfo(der.Span, out _)) || TryImport(() => rsa.ImportRSAPublicKey(der.Span, out _))
            || TryImport(() => ec.ImportSubjectPublicKeyInfo(der.Span, out _)) || TryImport(() => X509CertificateLoader.LoadCertificate(der.Span).Dispose());
    }

    private delegate void Import();

    private static bool TryImport(Import import)
    {
        try
        {
            import();
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private async Task FetchAsync()
    {
        await Task.Yield();
        Volatile.Write(ref _attemptedAtTicks, _time.GetUtcNow().UtcTicks);
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10), _time);
            var client = _http.CreateClient(ClientName);
            var jwksUri = _options.JwksUri;
            if (string.IsNullOrWhiteSpace(jwksUri))
            {
                var discovery = $"{_options.Authority!.TrimEnd('/')}/.well-known/openid-configuration";
                using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri(discovery), cancel.Token));
                jwksUri = document.RootElement.GetProperty("jwks_uri").GetString();
                DiscoveredIssuer = document.RootElement.TryGetProperty("issuer", out var issuer) ? issuer.GetString() : null;
                if (!Uri.TryCreate(jwksUri, UriKind.Absolute, out var parsed) || (_options.RequireHttpsMetadata && parsed.Scheme != Uri.UriSchemeHttps))
                {
                    throw new InvalidOperationException($"the discovery document's jwks_uri '{jwksUri}' is not an acceptable URL");
                }
            }

            var set = new JsonWebKeySet(await client.GetStringAsync(new Uri(jwksUri!), cancel.Token));
            // A published key set never supplies an HMAC secret: anything symmetric in it is ignored.
            var fetched = set.GetSigningKeys().Where(k => k is not SymmetricSecurityKey).ToList();
            _all = [.. _configured, .. fetched];
            Volatile.Write(ref _fetchedAtTicks, _time.GetUtcNow().UtcTicks);
            Log.KeysFetched(_logger, fetched.Count, jwksUri!);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or OperationCanceledException or InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            // The keys already known stay in use; the next handshake that needs fresh ones tries again.
            Log.KeysFetchFailed(_logger, ex.GetType().Name, ex.Message);
        }
        finally
        {
            lock (_gate)
            {
                _fetch = null;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1431, Level = LogLevel.Information, Message = "Fetched {Count} JWT signing keys from {JwksUri}")]
        public static partial void KeysFetched(ILogger logger, int count, string jwksUri);

        [LoggerMessage(EventId = 1432, Level = LogLevel.Warning, Message = "Fetching JWT signing keys failed ({Kind}: {Detail}); the keys already known stay in use")]
        public static partial void KeysFetchFailed(ILogger logger, string kind, string detail);
    }
}
