using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gateway.Auth;

/// <summary>
/// Decides, before the upgrade, who a handshake is. Credentials are looked for in a fixed order and the first kind
/// present decides: a Signature Version 4 signature, a JWT (<c>?token=</c>, <c>Authorization: Bearer</c>, or behind the
/// <c>bearer</c> subprotocol), the shared secret (header or query), the HTTP authorizer's identity sources. With none
/// present the handshake is upgraded to wait for a first-message secret when that is on, connects anonymously when
/// authentication is optional, and is answered 401 otherwise.
/// </summary>
public sealed class ConnectAuthenticator
{
    private readonly IAccessKeyStore _credentials;
    private readonly IHttpClientFactory _http;
    private readonly TimeProvider _time;
    private readonly ILogger _jwtLogger;
    private readonly HttpAuthorizer? _authorizer;
    private readonly AuthorizerOptions _authorizerOptions;
    private readonly GatewayConfiguration _configuration;
    private Modes _modes;

    /// <summary>Creates the authenticator for the configured modes.</summary>
    public ConnectAuthenticator(
        GatewayConfiguration configuration,
        IAccessKeyStore credentials,
        IHttpClientFactory http,
        GatewayIdentity endpoint,
        ConnectionSender sender,
        IServiceProvider services,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(loggers);
        _configuration = configuration;
        _credentials = credentials;
        _http = http;
        _time = time;
        _jwtLogger = loggers.CreateLogger<JwtValidator>();
        var auth = configuration.Current.Auth;

        // The HTTP authorizer (and its cache) lives as long as the process: changing it takes a restart.
        _authorizerOptions = auth.Authorizer;
        if (_authorizerOptions.Enabled)
        {
            _authorizer = new HttpAuthorizer(_authorizerOptions, http, endpoint, sender, services, time, loggers.CreateLogger<HttpAuthorizer>());
        }

        _modes = Build(auth, previous: null);
    }

    /// <summary>True when any mode is configured.</summary>
    public bool Enabled => Current.Options.Enabled;

    /// <summary>The JWT validator of the configuration now, or null when JWTs are not configured.</summary>
    public JwtValidator? Jwt => Current.Jwt;

    /// <summary>The HTTP authorizer, or null when none is configured.</summary>
    public HttpAuthorizer? Authorizer => _authorizer;

    /// <summary>
    /// The modes of the configuration now: built again, once, by the first handshake after a reload, so that a handshake
    /// is checked with the keys and secrets current when it arrives.
    /// </summary>
    private Modes Current
    {
        get
        {
            var modes = Volatile.Read(ref _modes);
            var auth = _configuration.Current.Auth;
            if (!ReferenceEquals(auth, modes.Source))
            {
                // Two handshakes that race here build the same modes; either may be kept.
                modes = Build(auth, modes);
                Volatile.Write(ref _modes, modes);
            }

            return modes;
        }
    }

    private Modes Build(AuthOptions auth, Modes? previous)
    {
        // The authorizer stays the one of the start, so that every decision sees the same modes.
        var options = new AuthOptions { Jwt = auth.Jwt, SharedSecret = auth.SharedSecret, SigV4 = auth.SigV4, Authorizer = _authorizerOptions };
        JwtValidator? jwt = null;
        if (options.Jwt.Enabled)
        {
            // Keys fetched from a key set stay known when the settings they come from did not change.
            var keys = previous?.Jwt is { } old && SameKeySource(old.Options, options.Jwt)
                ? old.Keys
                : new SigningKeySource(options.Jwt, _http, _time, _jwtLogger);
            jwt = new JwtValidator(options.Jwt, keys, _time);
        }

        var secretHash = options.SharedSecret.Enabled ? SHA256.HashData(Encoding.UTF8.GetBytes(options.SharedSecret.Secret!)) : null;
        return new Modes(auth, options, jwt, secretHash);
    }

    private static bool SameKeySource(JwtAuthOptions a, JwtAuthOptions b) =>
        a.SigningKeys.SequenceEqual(b.SigningKeys, StringComparer.Ordinal)
        && string.Equals(a.JwksUri, b.JwksUri, StringComparison.Ordinal)
        && string.Equals(a.Authority, b.Authority, StringComparison.Ordinal)
        && a.RequireHttpsMetadata == b.RequireHttpsMetadata
        && a.KeyRefreshInterval == b.KeyRefreshInterval
        && a.MinKeyRefreshInterval == b.MinKeyRefreshInterval;

    /// <summary>Authenticates the handshake of <paramref name="connection"/>.</summary>
    public async ValueTask<AuthOutcome> AuthenticateAsync(HttpContext context, GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(connection);

        // One set of modes for the whole handshake, even when a reload replaces them meanwhile.
        var modes = Current;
        var options = modes.Options;
        if (!options.Enabled)
        {
            return AuthOutcome.Anonymous;
        }

        var request = context.Request;
        var authorization = request.Headers.Authorization.ToString();
        if (options.SigV4.Enabled)
        {
            var header = authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal);
            if (header || request.Query.ContainsKey("X-Amz-Signature"))
            {
                return Signed(context, header);
            }
        }

        if (modes.Jwt is { } jwt && FindToken(request, authorization, options.Jwt) is var (token, fromSubprotocol) && token is not null)
        {
            var (identity, failure) = await jwt.ValidateAsync(token, context.RequestAborted);
            return identity is null
                ? AuthOutcome.Reject(StatusCodes.Status401Unauthorized, $"JWT refused: {failure}")
                : AuthOutcome.Accept(identity) with
                {
                    SubProtocol = fromSubprotocol ? options.Jwt.Subprotocol : null,
                    SubProtocolToken = fromSubprotocol ? token : null,
                };
        }

        if (modes.SecretHash is not null)
        {
            var presented = request.Headers[options.SharedSecret.Header].ToString();
            if (presented.Length == 0)
            {
                presented = request.Query[options.SharedSecret.QueryParameter].ToString();
            }

            if (presented.Length > 0)
            {
                return IsSecret(presented, modes.SecretHash)
                    ? AuthOutcome.Accept(SecretIdentity())
                    : AuthOutcome.Reject(StatusCodes.Status401Unauthorized, "wrong shared secret");
            }
        }

        if (_authorizer is not null && _authorizer.HasIdentity(connection.Handshake))
        {
            return await _authorizer.AuthorizeAsync(connection, context.RequestAborted);
        }

        if (modes.SecretHash is not null && options.SharedSecret.FirstMessage)
        {
            return new AuthOutcome { AwaitFirstMessage = true };
        }

        return options.AllowsAnonymous
            ? AuthOutcome.Anonymous
            : AuthOutcome.Reject(StatusCodes.Status401Unauthorized, _authorizer is not null ? "an identity source is missing" : "no credentials");
    }

    /// <summary>When a connection authenticated at <paramref name="identity"/> must be closed, or null for never.</summary>
    public DateTimeOffset? CloseAt(ConnectionIdentity? identity)
    {
        var jwt = Current.Options.Jwt;
        return identity?.ExpiresAt is { } expires && identity.Method == "jwt" && jwt.CloseOnExpiry && expires < DateTimeOffset.MaxValue - jwt.ClockSkew
            ? expires + jwt.ClockSkew
            : null;
    }

    /// <summary>When a connection waiting for its first-message secret is closed.</summary>
    public DateTimeOffset FirstMessageDeadline() => _time.GetUtcNow() + Current.Options.SharedSecret.FirstMessageTimeout;

    /// <summary>
    /// Checks a first message <c>{"secret":"..."}</c>; the identity, or null when it is not the secret.
    /// </summary>
    public ConnectionIdentity? CheckFirstMessage(ReadOnlySpan<byte> body, bool binary)
    {
        var hash = Current.SecretHash;
        if (hash is null || binary)
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isSecret = reader.ValueTextEquals("secret"u8);
                reader.Read();
                if (isSecret && reader.TokenType == JsonTokenType.String)
                {
                    return Protocol.JsonStrings.ValueOrNull(ref reader) is { } secret && IsSecret(secret, hash) ? SecretIdentity() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        catch (InvalidOperationException)
        {
        }

        return null;
    }

    private AuthOutcome Signed(HttpContext context, bool header)
    {
        var now = _time.GetUtcNow();
        string accessKeyId;
        var refusal = header
            ? SignatureV4.Verify(context, [], _credentials.SecretOf, now, out accessKeyId)
            : SignatureV4.VerifyPresigned(context, _credentials.SecretOf, now, out accessKeyId);
        if (refusal is not null)
        {
            return AuthOutcome.Reject(StatusCodes.Status401Unauthorized, $"signature refused: {refusal}");
        }

        // The user is the access key the verifier checked the signature with, nothing else the request says.
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", accessKeyId)], "sigv4", "sub", null));
        return AuthOutcome.Accept(new ConnectionIdentity("sigv4", principal, accessKeyId, ConnectionIdentity.AuthorizerObject(accessKeyId, []), null));
    }

    private static (string? Token, bool FromSubprotocol) FindToken(HttpRequest request, string authorization, JwtAuthOptions jwt)
    {
        var query = request.Query[jwt.QueryParameter].ToString();
        if (query.Length > 0)
        {
            return (query, false);
        }

        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (authorization["Bearer ".Length..].Trim(), false);
        }

        // Browsers cannot set headers: new WebSocket(url, ["bearer", token]) offers the token as a second subprotocol.
        var marker = jwt.Subprotocol;
        if (marker.Length > 0)
        {
            var offered = request.Headers.SecWebSocketProtocol.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
            var at = offered.IndexOf(marker);
            if (at >= 0 && at + 1 < offered.Count)
            {
                return (offered[at + 1], true);
            }
        }

        return (null, false);
    }

    private static bool IsSecret(string presented, byte[] secretHash)
    {
        // Hashing first makes the comparison take the same time whatever the length presented.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(hash, secretHash);
    }

    private static ConnectionIdentity SecretIdentity() =>
        new("secret", new ClaimsPrincipal(new ClaimsIdentity("secret")), null, null, null);

    /// <summary>The modes of one configuration. <see cref="Source"/> is the configuration's, to tell when it changed.</summary>
    private sealed record Modes(AuthOptions Source, AuthOptions Options, JwtValidator? Jwt, byte[]? SecretHash);
}
