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

        ValidateRoutes(options.Routes, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
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
            ("PongTimeout", c.PongTimeout, false), ("CloseTimeout", c.CloseTimeout, false), ("SweepInterval", c.SweepInterval, false),
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

    private void ValidateRoutes(Dictionary<string, RouteOptions> routes, List<string> errors)
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
