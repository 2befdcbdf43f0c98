using Gateway.Configuration;

namespace Gateway.Auth;

/// <summary>The checks of client authentication.</summary>
public static class AuthOptionsValidator
{
    /// <summary>Adds a line to <paramref name="errors"/> for each problem of <paramref name="options"/> this part owns.</summary>
    public static void Validate(GatewayOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        ValidateAuth(options.Auth, options.Management, errors);
    }

    private static void ValidateAuth(AuthOptions auth, ManagementOptions management, ICollection<string> errors)
    {
        const string P = "Gateway:Auth:";
        var jwt = auth.Jwt;
        foreach (var key in jwt.SigningKeys)
        {
            try
            {
                var parsed = Auth.SigningKeySource.Parse(key);
                if (parsed is Microsoft.IdentityModel.Tokens.SymmetricSecurityKey symmetric && symmetric.KeySize < 256)
                {
                    errors.Add($"{P}Jwt:SigningKeys: an HMAC secret must be at least 32 bytes long.");
                }

                (parsed as Microsoft.IdentityModel.Tokens.RsaSecurityKey)?.Rsa?.Dispose();
                (parsed as Microsoft.IdentityModel.Tokens.ECDsaSecurityKey)?.ECDsa?.Dispose();
                (parsed as Microsoft.IdentityModel.Tokens.X509SecurityKey)?.Certificate?.Dispose();
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{P}Jwt:SigningKeys: {ex.Message}.");
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                errors.Add($"{P}Jwt:SigningKeys: a PEM key could not be read; use an RSA or EC public key or a certificate.");
            }
        }

        if (!string.IsNullOrWhiteSpace(jwt.Authority) && !string.IsNullOrWhiteSpace(jwt.JwksUri) && string.IsNullOrWhiteSpace(jwt.Issuer))
        {
            errors.Add($"{P}Jwt: with both Authority and JwksUri, set Issuer (the authority's discovery document, which names it, is not read).");
        }

        foreach (var (name, url) in (ReadOnlySpan<(string, string?)>)[("Authority", jwt.Authority), ("JwksUri", jwt.JwksUri)])
        {
            if (!string.IsNullOrWhiteSpace(url) && (!System.Uri.TryCreate(url, UriKind.Absolute, out var parsed) || !(parsed.Scheme == "https" || (!jwt.RequireHttpsMetadata && parsed.Scheme == "http"))))
            {
                errors.Add($"{P}Jwt:{name} '{url}' must be an absolute https:// URL (http:// only with RequireHttpsMetadata: false).");
            }
        }

        if (jwt.Algorithms.Any(a => !Auth.JwtValidator.DefaultAlgorithms.Contains(a) && a is not ("HS384" or "HS512" or "RS384" or "RS512" or "ES384" or "ES512" or "PS256" or "PS384" or "PS512")))
        {
            errors.Add($"{P}Jwt:Algorithms: only HS, RS, PS and ES algorithms of 256, 384 or 512 bits are supported ('none' never is).");
        }

        if (jwt.ClockSkew < TimeSpan.Zero || jwt.ClockSkew > TimeSpan.FromHours(1) || jwt.KeyRefreshInterval <= TimeSpan.Zero || jwt.MinKeyRefreshInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{P}Jwt: ClockSkew must be between zero and one hour, KeyRefreshInterval positive, MinKeyRefreshInterval at least one second.");
        }

        if (string.IsNullOrEmpty(jwt.QueryParameter) || string.IsNullOrEmpty(jwt.UserIdClaim) || jwt.Subprotocol.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('.' or '-' or '_')))
        {
            errors.Add($"{P}Jwt: QueryParameter and UserIdClaim may not be empty, and Subprotocol must be a token of letters, digits, '.', '-' and '_'.");
        }

        if (auth.SharedSecret.Enabled && (string.IsNullOrEmpty(auth.SharedSecret.Header) || string.IsNullOrEmpty(auth.SharedSecret.QueryParameter) || auth.SharedSecret.FirstMessageTimeout <= TimeSpan.Zero))
        {
            errors.Add($"{P}SharedSecret: Header and QueryParameter may not be empty, and FirstMessageTimeout must be positive.");
        }

        if (auth.SigV4.Enabled && management.Credentials.Count == 0)
        {
            errors.Add($"{P}SigV4:Enabled needs access keys in Gateway:Management:Credentials to check signatures against.");
        }

        var authorizer = auth.Authorizer;
        if (authorizer.Enabled)
        {
            if (!System.Uri.TryCreate(authorizer.Uri, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                errors.Add($"{P}Authorizer:Uri '{authorizer.Uri}' must be an absolute http:// or https:// URL.");
            }

            foreach (var source in authorizer.IdentitySources.Where(s => Auth.HttpAuthorizer.ParseSource(s) is null))
            {
                errors.Add($"{P}Authorizer:IdentitySources '{source}' must be route.request.header.<name> or route.request.querystring.<name>.");
            }

            if (authorizer.CacheTtl < TimeSpan.Zero || authorizer.Timeout <= TimeSpan.Zero || authorizer.MaxCacheEntries < 1)
            {
                errors.Add($"{P}Authorizer: CacheTtl must be zero (off) or more, Timeout positive, MaxCacheEntries at least 1.");
            }
        }
    }
}
