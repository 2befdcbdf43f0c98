using Gateway.Connections;
using Gateway.Hosting;
using Gateway.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Configuration;

/// <summary>Checks the whole configuration at start and reports every problem at once.</summary>
public sealed class GatewayOptionsValidator(IEnumerable<NamedHandlerRegistration> namedHandlers) : IValidateOptions<GatewayOptions>
{
    private static readonly string[] IntegrationTypes = ["http", "mock"];

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        ValidateListeners(options.Listeners, errors);

        if (string.IsNullOrEmpty(options.Stage) || !options.Stage.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            errors.Add($"Gateway:Stage '{options.Stage}' must be a non-empty path segment of letters, digits, '-' and '_'.");
        }

        if (!RouteSelector.TryParse(options.RouteSelectionExpression, out _, out var selectorError))
        {
            errors.Add($"Gateway:RouteSelectionExpression: {selectorError}.");
        }

        if (!string.IsNullOrEmpty(options.NodeId) && !ConnectionId.IsValidNodeId(options.NodeId))
        {
            errors.Add($"Gateway:NodeId '{options.NodeId}' must be {ConnectionId.NodeIdLength} characters of A-Z, a-z, 0-9, '-' and '_'.");
        }

        ValidateConnections(options.Connections, errors);
        if (options.Management.MaxPayloadBytes < 1)
        {
            errors.Add($"Gateway:Management:MaxPayloadBytes {options.Management.MaxPayloadBytes} must be at least 1.");
        }

        if (!string.IsNullOrEmpty(options.Management.PublicUrl) && !System.Uri.TryCreate(options.Management.PublicUrl, UriKind.Absolute, out _))
        {
            errors.Add($"Gateway:Management:PublicUrl '{options.Management.PublicUrl}' must be an absolute URL such as https://gateway-mgmt:8081.");
        }

        foreach (var credential in options.Management.Credentials)
        {
            if (string.IsNullOrEmpty(credential.AccessKeyId) || string.IsNullOrEmpty(credential.SecretAccessKey))
            {
                errors.Add("Gateway:Management:Credentials: every entry needs an AccessKeyId and a SecretAccessKey.");
            }
        }

        if (options.Management.ApiKeys.Any(string.IsNullOrEmpty))
        {
            errors.Add("Gateway:Management:ApiKeys: an API key may not be empty.");
        }

        if (options.Management.MaxPageSize < 1)
        {
            errors.Add($"Gateway:Management:MaxPageSize {options.Management.MaxPageSize} must be at least 1.");
        }

        if (options.Management.Dashboard.SampleInterval < TimeSpan.FromSeconds(1) || options.Management.Dashboard.SampleInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"Gateway:Management:Dashboard:SampleInterval {options.Management.Dashboard.SampleInterval} must be between 00:00:01 and 01:00:00.");
        }

        if (options.Management.Dashboard.Samples is < 2 or > 1440)
        {
            errors.Add($"Gateway:Management:Dashboard:Samples {options.Management.Dashboard.Samples} must be between 2 and 1440.");
        }

        if (string.Equals(options.Stage, "admin", StringComparison.OrdinalIgnoreCase) && options.Management.Dashboard.Enabled)
        {
            errors.Add("Gateway:Stage 'admin' is the dashboard's path; choose another stage or set Gateway:Management:Dashboard:Enabled to false.");
        }

        ValidateAuth(options.Auth, options.Management, errors);
        ValidateTopics(options.Topics, options.Connections, errors);
        ValidateRoutes(options.Routes, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateAuth(AuthOptions auth, ManagementOptions management, List<string> errors)
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

    private static void ValidateTopics(TopicsOptions topics, ConnectionsOptions connections, List<string> errors)
    {
        const string P = "Gateway:Topics:";
        if (topics.MaxSubscriptionsPerConnection < 1 || topics.MaxTopicLength < 1)
        {
            errors.Add($"{P}MaxSubscriptionsPerConnection and MaxTopicLength must be at least 1.");
        }

        foreach (var history in topics.History)
        {
            if (!Topics.TopicName.IsValidPattern(history.Pattern, int.MaxValue))
            {
                errors.Add($"{P}History: Pattern '{history.Pattern}' is not a topic pattern.");
            }

            // A recovering client is sent every missed event at once; they must fit its send queue.
            if (history.Size < 1 || history.Size >= connections.SendQueueLimit || history.Ttl <= TimeSpan.Zero)
            {
                errors.Add($"{P}History '{history.Pattern}': Size must be at least 1 and below Connections:SendQueueLimit ({connections.SendQueueLimit}), Ttl positive.");
            }
        }

        if (topics.Authorization.Uri is { Length: > 0 } uri && (!System.Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https")))
        {
            errors.Add($"{P}Authorization:Uri '{uri}' must be an absolute http:// or https:// URL.");
        }

        if (topics.Authorization.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{P}Authorization:Timeout must be positive.");
        }
    }

    private static void ValidateListeners(ListenersOptions listeners, List<string> errors)
    {
        if (!IsListenerUrl(listeners.Client))
        {
            errors.Add($"Gateway:Listeners:Client '{listeners.Client}' must be an http:// or https:// URL with a host and port.");
        }

        if (!string.IsNullOrEmpty(listeners.Management) && !IsListenerUrl(listeners.Management))
        {
            errors.Add($"Gateway:Listeners:Management '{listeners.Management}' must be an http:// or https:// URL with a host and port, or empty to share the client listener.");
        }
    }

    /// <summary>True for a URL a listener can bind: http or https, a host (or *, +), and no path.</summary>
    public static bool IsListenerUrl(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return false;
        }

        var normalized = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        return Uri.TryCreate(normalized, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.AbsolutePath == "/";
    }

    private static void ValidateConnections(ConnectionsOptions c, List<string> errors)
    {
        const string P = "Gateway:Connections:";
        if (c.MaxMessageBytes < 1 || c.MaxMessageBytes > 64 * 1024 * 1024)
        {
            errors.Add($"{P}MaxMessageBytes {c.MaxMessageBytes} must be between 1 and 67108864.");
        }

        if (c.SendQueueLimit < 1)
        {
            errors.Add($"{P}SendQueueLimit {c.SendQueueLimit} must be at least 1.");
        }

        if (c.SendQueueByteLimit < 1)
        {
            errors.Add($"{P}SendQueueByteLimit {c.SendQueueByteLimit} must be at least 1.");
        }

        if (c.MaxConnections < 1)
        {
            errors.Add($"{P}MaxConnections {c.MaxConnections} must be at least 1.");
        }

        if (c.MessageRateLimit < 0 || c.MessageRateBurst < 0 || c.HandshakeRateLimit < 0)
        {
            errors.Add($"{P}MessageRateLimit, MessageRateBurst and HandshakeRateLimit must be 0 (off) or more.");
        }

        if (c.MaxMessagesPerConnection < 0)
        {
            errors.Add($"{P}MaxMessagesPerConnection {c.MaxMessagesPerConnection} must be 0 (off) or more.");
        }

        foreach (var (name, value, zeroAllowed) in new[]
        {
            ("IdleTimeout", c.IdleTimeout, true), ("MaxLifetime", c.MaxLifetime, true), ("PingInterval", c.PingInterval, true),
            ("PongTimeout", c.PongTimeout, false), ("CloseTimeout", c.CloseTimeout, false), ("SweepInterval", c.SweepInterval, false), ("DrainTimeout", c.DrainTimeout, false),
        })
        {
            if (value < TimeSpan.Zero || (!zeroAllowed && value == TimeSpan.Zero))
            {
                errors.Add($"{P}{name} {value} must be {(zeroAllowed ? "zero (off) or positive" : "positive")}.");
            }
        }

        foreach (var proxy in c.TrustedProxies)
        {
            try
            {
                ClientAddress.ParseNetwork(proxy);
            }
            catch (FormatException)
            {
                errors.Add($"{P}TrustedProxies '{proxy}' is neither an IP address nor a CIDR range.");
            }
        }
    }

    private void ValidateRoutes(Dictionary<string, GatewayRouteOptions> routes, List<string> errors)
    {
        var names = new HashSet<string>(RouteTable.BuiltInHandlers, StringComparer.Ordinal);
        names.UnionWith(namedHandlers.Select(n => n.Name));
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (section, route) in routes)
        {
            var key = RouteKeys.FromConfiguration(section, route.RouteKey);
            var at = $"Gateway:Routes:{section}";
            if (keys.TryGetValue(key, out var other))
            {
                errors.Add($"{at} and Gateway:Routes:{other} both define route key '{key}'.");
            }

            keys[key] = section;
            if (key.StartsWith('$') && key is not (RouteKeys.Connect or RouteKeys.Disconnect or RouteKeys.Default))
            {
                errors.Add($"{at}: '{key}' is not a predefined route key; only $connect, $disconnect and $default may start with '$'.");
            }

            var hasHandler = !string.IsNullOrEmpty(route.Handler);
            if (hasHandler == (route.Integration is not null))
            {
                errors.Add($"{at} must have exactly one of Handler or Integration.");
            }
            else if (hasHandler && !names.Contains(route.Handler!))
            {
                errors.Add($"{at}:Handler '{route.Handler}' is not a known handler (known: {string.Join(", ", names.Order(StringComparer.Ordinal))}).");
            }
            else if (route.Integration is { } integration && !IntegrationTypes.Contains(integration.Type, StringComparer.Ordinal))
            {
                errors.Add($"{at}:Integration:Type '{integration.Type}' is not a known integration type (known: {string.Join(", ", IntegrationTypes)}).");
            }
            else if (route.Integration is { Type: "http" } http)
            {
                if (!System.Uri.TryCreate(http.Uri, UriKind.Absolute, out var uri) || (uri.Scheme != System.Uri.UriSchemeHttp && uri.Scheme != System.Uri.UriSchemeHttps))
                {
                    errors.Add($"{at}:Integration:Uri '{http.Uri}' must be an absolute http:// or https:// URL.");
                }

                if (http.Timeout <= TimeSpan.Zero)
                {
                    errors.Add($"{at}:Integration:Timeout {http.Timeout} must be positive.");
                }

                if (http.MaxStreamsPerConnection < 1 || http.StreamIdleTimeout <= TimeSpan.Zero || http.MaxStreamDuration <= TimeSpan.Zero)
                {
                    errors.Add($"{at}:Integration: MaxStreamsPerConnection must be at least 1, StreamIdleTimeout and MaxStreamDuration positive.");
                }

                if (http.StreamTopic is { Length: > 0 } streamTopic
                    && !Topics.TopicName.IsValidName(Topics.TopicTemplate.Fill(streamTopic, _ => "x") ?? "", int.MaxValue))
                {
                    errors.Add($"{at}:Integration:StreamTopic '{streamTopic}' must be a topic name with {{field}} placeholders and no wildcards.");
                }

                if (http.Retries < 0)
                {
                    errors.Add($"{at}:Integration:Retries {http.Retries} must be 0 or more.");
                }
            }

            var status = route.Integration?.StatusCode ?? route.StatusCode;
            if (status is < 100 or > 599)
            {
                errors.Add($"{at}: StatusCode {status} must be an HTTP status between 100 and 599.");
            }
        }
    }
}
