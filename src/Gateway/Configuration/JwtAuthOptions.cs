namespace Gateway.Configuration;

/// <summary>JSON Web Token validation on <c>$connect</c>.</summary>
public sealed class JwtAuthOptions
{
    /// <summary>The issuer (<c>iss</c>) tokens must name; with an <see cref="Authority"/> and none set, the authority's.</summary>
    public string? Issuer { get; set; }

    /// <summary>The audience (<c>aud</c>) tokens must name; unset, the audience is not checked.</summary>
    public string? Audience { get; set; }

    /// <summary>Keys tokens may be signed with: an HMAC secret (at least 32 bytes of text), or a PEM public key or certificate (RSA or EC).</summary>
    public IList<string> SigningKeys { get; } = [];

    /// <summary>An OpenID Connect authority; its signing keys come from <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }

    /// <summary>A JSON Web Key Set URL to take signing keys from (instead of discovering it from an authority).</summary>
    public string? JwksUri { get; set; }

    /// <summary>Accept only https:// authority and key set URLs (turn off for development only).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>How long fetched keys are used before they are fetched again.</summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A token signed by an unknown key id fetches the keys again, at most this often (key rotation).</summary>
    public TimeSpan MinKeyRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>When false, a handshake without a token connects anonymously (a token that is present must still be valid).</summary>
    public bool Required { get; set; } = true;

    /// <summary>Signature algorithms accepted.</summary>
    public IList<string> Algorithms { get; } = [];

    /// <summary>Tolerance for <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The query parameter a token may be sent in.</summary>
    public string QueryParameter { get; set; } = "token";

    /// <summary>
    /// The subprotocol a browser offers before the token (<c>new WebSocket(url, ["bearer", token])</c>); the gateway
    /// answers with this name, never with the token.
    /// </summary>
    public string Subprotocol { get; set; } = "bearer";

    /// <summary>The claim that names the user (the connection's user id and the authorizer's <c>principalId</c>).</summary>
    public string UserIdClaim { get; set; } = "sub";

    /// <summary>Close a connection when its token expires (an <c>unauthorized</c> error frame, then close 1008).</summary>
    public bool CloseOnExpiry { get; set; }

    /// <summary>The route key of the message that replaces the token of an open connection; empty turns it off.</summary>
    public string RefreshRoute { get; set; } = "refresh";

    /// <summary>True when keys or a key source are configured.</summary>
    public bool Enabled => SigningKeys.Count > 0 || !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(JwksUri);
}
