using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Gateway.Routing;

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
    private readonly AuthOptions _options;
    private readonly IAccessKeyStore _credentials;
    private readonly TimeProvider _time;
    private readonly byte[]? _secretHash;
    private readonly HttpAuthorizer? _authorizer;

    /// <summary>Creates the authenticator for the configured modes.</summary>
    public ConnectAuthenticator(
        IOptions<GatewayOptions> options,
        IAccessKeyStore credentials,
        IHttpClientFactory http,
        GatewayIdentity endpoint,
        ConnectionSender sender,
        IServiceProvider services,
        TimeProvider time,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options.Value.Auth;
        _credentials = credentials;
        _time = time;
        if (_options.Jwt.Enabled)
        {
            var logger = loggers.CreateLogger<JwtValidator>();
            Jwt = new JwtValidator(_options.Jwt, new SigningKeySource(_options.Jwt, http, time, logger), time);
        }

        if (_options.SharedSecret.Enabled)
        {
            _secretHash = SHA256.HashData(Encoding.UTF8.GetBytes(_options.SharedSecret.Secret!));
        }

        if (_options.Authorizer.Enabled)
        {
            _authorizer = new HttpAuthorizer(_options.Authorizer, http, endpoint, sender, services, time, loggers.CreateLogger<HttpAuthorizer>());
        }
    }

    /// <summary>True when any mode is configured.</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>The JWT validator, or null when JWTs are not configured.</summary>
    public JwtValidator? Jwt { get; }

    /// <summary>The HTTP authorizer, or null when none is configured.</summary>
    public HttpAuthorizer? Authorizer => _authorizer;

    /// <summary>Authenticates the handshake of <paramref name="connection"/>.</summary>
    public async ValueTask<AuthOutcome> AuthenticateAsync(HttpContext context, GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(connection);
        if (!_options.Enabled)
        {
            return AuthOutcome.Anonymous;
        }

        var request = context.Request;
        var authorization = request.Headers.Authorization.ToString();
        if (_options.SigV4.Enabled)
        {
            var header = authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal);
            if (header || request.Query.ContainsKey("X-Amz-Signature"))
            {
                return Signed(context, header);
            }
        }

        if (Jwt is not null && FindToken(request, authorization) is var (token, fromSubprotocol) && token is not null)
        {
            var (identity, failure) = await Jwt.ValidateAsync(token, context.RequestAborted);
            return identity is null
                ? AuthOutcome.Reject(StatusCodes.Status401Unauthorized, $"JWT refused: {failure}")
                : AuthOutcome.Accept(identity) with
                {
                    SubProtocol = fromSubprotocol ? _options.Jwt.Subprotocol : null,
                    SubProtocolToken = fromSubprotocol ? token : null,
                };
        }

        if (_secretHash is not null)
        {
            var presented = request.Headers[_options.SharedSecret.Header].ToString();
            if (presented.Length == 0)
            {
                presented = request.Query[_options.SharedSecret.QueryParameter].ToString();
            }

            if (presented.Length > 0)
            {
                return IsSecret(presented)
                    ? AuthOutcome.Accept(SecretIdentity())
                    : AuthOutcome.Reject(StatusCodes.Status401Unauthorized, "wrong shared secret");
            }
        }

        if (_authorizer is not null && _authorizer.HasIdentity(connection.Handshake))
        {
            return await _authorizer.AuthorizeAsync(connection, context.RequestAborted);
        }

        if (_secretHash is not null && _options.SharedSecret.FirstMessage)
        {
            return new AuthOutcome { AwaitFirstMessage = true };
        }

        return _options.AllowsAnonymous
            ? AuthOutcome.Anonymous
            : AuthOutcome.Reject(StatusCodes.Status401Unauthorized, _authorizer is not null ? "an identity source is missing" : "no credentials");
    }

    /// <summary>When a connection authenticated at <paramref name="identity"/> must be closed, or null for never.</summary>
    public DateTimeOffset? CloseAt(ConnectionIdentity? identity) =>
        identity?.ExpiresAt is { } expires && identity.Method == "jwt" && _options.Jwt.CloseOnExpiry && expires < DateTimeOffset.MaxValue - _options.Jwt.ClockSkew
            ? expires + _options.Jwt.ClockSkew
            : null;

    /// <summary>When a connection waiting for its first-message secret is closed.</summary>
    public DateTimeOffset FirstMessageDeadline() => _time.GetUtcNow() + _options.SharedSecret.FirstMessageTimeout;

    /// <summary>
    /// Checks a first message <c>{"secret":"..."}</c>; the identity, or null when it is not the secret.
    /// </summary>
    public ConnectionIdentity? CheckFirstMessage(ReadOnlySpan<byte> body, bool binary)
    {
        if (_secretHash is null || binary)
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
                    return Protocol.JsonStrings.ValueOrNull(ref reader) is { } secret && IsSecret(secret) ? SecretIdentity() : null;
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

    private (string? Token, bool FromSubprotocol) FindToken(HttpRequest request, string authorization)
    {
        var query = request.Query[_options.Jwt.QueryParameter].ToString();
        if (query.Length > 0)
        {
            return (query, false);
        }

        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (authorization["Bearer ".Length..].Trim(), false);
        }

        // Browsers cannot set headers: new WebSocket(url, ["bearer", token]) offers the token as a second subprotocol.
        var marker = _options.Jwt.Subprotocol;
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

    private bool IsSecret(string presented)
    {
        // Hashing first makes the comparison take the same time whatever the length presented.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(hash, _secretHash);
    }

    private static ConnectionIdentity SecretIdentity() =>
        new("secret", new ClaimsPrincipal(new ClaimsIdentity("secret")), null, null, null);
}
