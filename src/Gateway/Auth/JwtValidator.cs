using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using Gateway.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Gateway.Connections;

namespace Gateway.Auth;

/// <summary>
/// Validates a JWT: signature (HS256, RS256, ES256 unless configured otherwise) by a known key, issuer, audience, and
/// lifetime on the injected clock with the configured skew. The common case (a compact JWS of HS256, RS256 or ES256 with
/// the usual claims, see <see cref="CompactJws"/>) is accepted here directly from one read of its bytes; every token this
/// does not accept, and so every refusal, is decided by the Microsoft.IdentityModel handler, as is anything unusual.
/// </summary>
public sealed class JwtValidator
{
    /// <summary>Algorithms accepted when none are configured.</summary>
    public static readonly IReadOnlyList<string> DefaultAlgorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];

    private readonly JwtAuthOptions _options;
    private readonly SigningKeySource _keys;
    private readonly TimeProvider _time;
    private readonly ClaimsHandler _handler = new() { MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;
    private readonly string? _audience;
    private readonly string[] _directAlgorithms;
    private SigningKeyMaterial? _material;
    private long _acceptedDirectly;

    /// <summary>Creates the validator.</summary>
    public JwtValidator(JwtAuthOptions options, SigningKeySource keys, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _keys = keys;
        _time = time;
        _parameters = new TokenValidationParameters
        {
            ValidAlgorithms = AcceptedAlgorithms(options, keys),
            ValidateIssuerSigningKey = true,
            IssuerSigningKeyResolver = (_, _, _, _) => _keys.Current,
            ValidateIssuer = true,
            IssuerValidator = ValidateIssuer,
            ValidateAudience = !string.IsNullOrWhiteSpace(options.Audience),
            ValidAudience = options.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            LifetimeValidator = ValidateLifetime,
            ClockSkew = options.ClockSkew,
            NameClaimType = options.UserIdClaim,
            AuthenticationType = "jwt",
        };
        _audience = _parameters.ValidateAudience ? options.Audience : null;
        _directAlgorithms = [.. _parameters.ValidAlgorithms.Where(a => a is "HS256" or "RS256" or "ES256")];
    }

    /// <summary>The settings this validator checks with.</summary>
    internal JwtAuthOptions Options => _options;

    /// <summary>The keys this validator checks signatures with.</summary>
    internal SigningKeySource Keys => _keys;

    /// <summary>How many tokens were accepted without the handler (the rest, and every refusal, went through it).</summary>
    internal long AcceptedDirectly => Interlocked.Read(ref _acceptedDirectly);

    /// <summary>Validates <paramref name="token"/>; the identity, or null and why not.</summary>
    public async ValueTask<(ConnectionIdentity? Identity, string? Failure)> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var jws = CompactJws.TryRead(token, _audience, _options.UserIdClaim);
        if (jws is null)
        {
            return await ValidateWithHandlerAsync(token, keysEnsured: false, cancellationToken);
        }

        try
        {
            // As the handler path does: the keys are made fresh (and a new key id looked up) once the token is read.
            await _keys.EnsureAsync(jws.KeyId, cancellationToken);
            if (Accept(jws, token) is { } identity)
            {
                Interlocked.Increment(ref _acceptedDirectly);
                return (identity, null);
            }
        }
        finally
        {
            jws.Dispose();
        }

        return await ValidateWithHandlerAsync(token, keysEnsured: true, cancellationToken);
    }

    /// <summary>
    /// The identity of a token of the common shape when every check the handler makes passes, or null to let the handler
    /// decide (and say why). Each check is the handler's with these parameters, or stricter.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ConnectionIdentity? Accept(CompactJws jws, string token)
    {
        if (Array.IndexOf(_directAlgorithms, jws.Algorithm) < 0 || !jws.AudienceMatches)
        {
            return null;
        }

        var expected = string.IsNullOrWhiteSpace(_options.Issuer) ? _keys.DiscoveredIssuer : _options.Issuer;
        if ((expected is null && !string.IsNullOrWhiteSpace(_options.Authority)) || (expected is not null && !string.Equals(jws.Issuer, expected, StringComparison.Ordinal)))
        {
            return null;
        }

        var expires = DateTime.UnixEpoch.AddSeconds(jws.Expires);
        var notBefore = jws.NotBefore is { } nbf ? DateTime.UnixEpoch.AddSeconds(nbf) : (DateTime?)null;
        if (!IsWithinLifetime(notBefore, expires))
        {
            return null;
        }

        var keys = _keys.Current;
        var material = Volatile.Read(ref _material);
        if (material is null || !ReferenceEquals(material.Source, keys))
        {
            // Made again only when the key source has a new list (a key set fetched again).
            material = SigningKeyMaterial.For(keys);
            Volatile.Write(ref _material, material);
        }

        if (!material.Verifies(jws))
        {
            return null;
        }

        byte[] authorizer;
        try
        {
            authorizer = jws.AuthorizerObject();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // Claims the writer will not take are left to the handler path, which meets them as it always did.
            return null;
        }

        return new ConnectionIdentity("jwt", () => new ClaimsPrincipal(_handler.IdentityOf(token, _parameters)), jws.UserId, authorizer, new DateTimeOffset(expires, TimeSpan.Zero));
    }

    /// <summary>Validates <paramref name="token"/> with the handler alone (<paramref name="keysEnsured"/>: the key source was already asked).</summary>
    internal async ValueTask<(ConnectionIdentity? Identity, string? Failure)> ValidateWithHandlerAsync(string token, bool keysEnsured, CancellationToken cancellationToken)
    {
        JsonWebToken jwt;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException)
        {
            return (null, "malformed token");
        }

        if (!keysEnsured)
        {
            await _keys.EnsureAsync(jwt.Kid, cancellationToken);
        }

        var result = await _handler.ValidateTokenAsync(jwt, _parameters);
        if (!result.IsValid)
        {
            return (null, Describe(result.Exception));
        }

        var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
        string? userId = null;
        var claims = new List<KeyValuePair<string, JsonElement>>();
        foreach (var property in payload.RootElement.EnumerateObject())
        {
            claims.Add(new(property.Name, property.Value.Clone()));
            if (property.Name == _options.UserIdClaim)
            {
                userId = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : property.Value.GetRawText();
            }
        }

        payload.Dispose();
        var expires = jwt.ValidTo == DateTime.MinValue ? (DateTimeOffset?)null : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
        return (new ConnectionIdentity("jwt", new ClaimsPrincipal(result.ClaimsIdentity), userId, ConnectionIdentity.AuthorizerObject(userId, claims), expires), null);
    }

    /// <summary>
    /// The configured algorithms, narrowed to the families of the keys there are: HMAC only with a configured secret (a
    /// key set from a URL never supplies one), RSA and EC only with such keys or a key set. So no token can be checked
    /// with a key of another kind, such as an HMAC over a public key's text.
    /// </summary>
    public static IList<string> AcceptedAlgorithms(JwtAuthOptions options, SigningKeySource keys)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(keys);
        IEnumerable<string> configured = options.Algorithms.Count > 0 ? options.Algorithms : DefaultAlgorithms;
        var hmac = keys.Current.Any(k => k is SymmetricSecurityKey);
        var rsa = keys.IsRemote || keys.Current.Any(k => k is RsaSecurityKey or X509SecurityKey);
        var ec = keys.IsRemote || keys.Current.Any(k => k is ECDsaSecurityKey or X509SecurityKey);
        return [.. configured.Where(a => a.StartsWith("HS", StringComparison.Ordinal) ? hmac : a.StartsWith("ES", StringComparison.Ordinal) ? ec : rsa)];
    }

    private string ValidateIssuer(string issuer, SecurityToken token, TokenValidationParameters parameters)
    {
        var expected = string.IsNullOrWhiteSpace(_options.Issuer) ? _keys.DiscoveredIssuer : _options.Issuer;
        if (expected is null && !string.IsNullOrWhiteSpace(_options.Authority))
        {
            // An authority's tokens are checked against its issuer; while that is unknown, none is accepted.
            throw new SecurityTokenInvalidIssuerException("the authority's issuer is not known");
        }

        if (expected is not null && !string.Equals(issuer, expected, StringComparison.Ordinal))
        {
            throw new SecurityTokenInvalidIssuerException("the token's issuer is not the configured one");
        }

        return issuer;
    }

    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters) =>
        IsWithinLifetime(notBefore, expires);

    private bool IsWithinLifetime(DateTime? notBefore, DateTime? expires)
    {
        // The skew is applied to now, never to the token's dates, which may be at the ends of time.
        var now = _time.GetUtcNow().UtcDateTime;
        if (expires is null || expires.Value.ToUniversalTime() < now - _options.ClockSkew)
        {
            return false;
        }

        return notBefore is null || notBefore.Value.ToUniversalTime() <= now + _options.ClockSkew;
    }

    /// <summary>The handler, with its own way of making a validated token's claims identity at hand.</summary>
    private sealed class ClaimsHandler : JsonWebTokenHandler
    {
        /// <summary>The claims identity the handler's validation result gives for <paramref name="token"/> (whose issuer was validated as it is).</summary>
        public ClaimsIdentity IdentityOf(string token, TokenValidationParameters parameters)
        {
            var jwt = ReadJsonWebToken(token);
            return CreateClaimsIdentity(jwt, parameters, jwt.Issuer);
        }
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenInvalidLifetimeException or SecurityTokenExpiredException or SecurityTokenNotYetValidException or SecurityTokenNoExpirationException => "token expired, not yet valid, or without an expiry",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidAlgorithmException => "algorithm not accepted",
        SecurityTokenSignatureKeyNotFoundException => "signed by an unknown key",
        SecurityTokenInvalidSignatureException => "invalid signature",
        null => "invalid token",
        _ => exception.GetType().Name,
    };
}
