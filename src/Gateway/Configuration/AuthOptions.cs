namespace Gateway.Configuration;

/// <summary>
/// Client authentication on <c>$connect</c>. Any mode configured turns it on; a handshake is then accepted only with
/// credentials one of them accepts (see the README's "Client authentication" for the order they are looked for in).
/// </summary>
public sealed class AuthOptions
{
    /// <summary>JSON Web Tokens in <c>?token=</c>, <c>Authorization: Bearer</c> or <c>Sec-WebSocket-Protocol</c>.</summary>
    public JwtAuthOptions Jwt { get; set; } = new();

    /// <summary>One shared secret in a header, the query, or the first message.</summary>
    public SharedSecretOptions SharedSecret { get; set; } = new();

    /// <summary>AWS Signature Version 4 on the handshake, by an access key of <c>Gateway:Management:Credentials</c>.</summary>
    public SigV4AuthOptions SigV4 { get; set; } = new();

    /// <summary>An HTTP backend that decides, like Amazon API Gateway's REQUEST authorizer.</summary>
    public AuthorizerOptions Authorizer { get; set; } = new();

    /// <summary>True when any mode is configured.</summary>
    public bool Enabled => Jwt.Enabled || SharedSecret.Enabled || SigV4.Enabled || Authorizer.Enabled;

    /// <summary>True when a handshake with no credentials at all may connect as an anonymous client.</summary>
    public bool AllowsAnonymous => !Enabled || (Jwt.Enabled && !Jwt.Required && !SharedSecret.Enabled && !SigV4.Enabled && !Authorizer.Enabled);
}
