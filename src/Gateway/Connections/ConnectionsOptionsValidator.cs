using Gateway.Configuration;

namespace Gateway.Connections;

/// <summary>The checks of the listeners, the node id and the connections' limits.</summary>
public static class ConnectionsOptionsValidator
{
    /// <summary>Adds a line to <paramref name="errors"/> for each problem of <paramref name="options"/> this part owns.</summary>
    public static void Validate(GatewayOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        ValidateListeners(options.Listeners, errors);
        if (!string.IsNullOrEmpty(options.NodeId) && !ConnectionId.IsValidNodeId(options.NodeId))
        {
            errors.Add($"Gateway:NodeId '{options.NodeId}' must be {ConnectionId.NodeIdLength} characters of A-Z, a-z, 0-9, '-' and '_'.");
        }

        ValidateConnections(options.Connections, errors);
    }

    private static void ValidateListeners(ListenersOptions listeners, ICollection<string> errors)
    {
        if (!IsListenerUrl(listeners.Client))
        {
            errors.Add($"Gateway:Listeners:Client '{listeners.Client}' must be an http:// or https:// URL with a host and port.");
        }

        if (!string.IsNullOrEmpty(listeners.Management) && !IsListenerUrl(listeners.Management))
        {
            errors.Add($"Gateway:Listeners:Management '{listeners.Management}' must be an http:// or https:// URL with a host and port, or empty to share the client listener.");
        }

        if (!string.IsNullOrEmpty(listeners.ClientHttp2))
        {
            if (!IsListenerUrl(listeners.ClientHttp2))
            {
                errors.Add($"Gateway:Listeners:ClientHttp2 '{listeners.ClientHttp2}' must be an http:// or https:// URL with a host and port, or empty for none.");
            }
            else if (SameAddress(listeners.ClientHttp2, listeners.Client) || SameAddress(listeners.ClientHttp2, listeners.Management))
            {
                errors.Add($"Gateway:Listeners:ClientHttp2 '{listeners.ClientHttp2}' must have a port of its own: the listener serves HTTP/2 only.");
            }
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

    // Two listener URLs on the same fixed port (port 0 gives each a port of its own).
    private static bool SameAddress(string url, string? other) =>
        IsListenerUrl(other) && Port(url) is var port and not 0 && port == Port(other!);

    private static int Port(string url) =>
        new Uri(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal)).Port;

    private static void ValidateConnections(ConnectionsOptions c, ICollection<string> errors)
    {
        const string P = "Gateway:Connections:";
        if (c.MaxMessageBytes < 1 || c.MaxMessageBytes > 64 * 1024 * 1024)
        {
            errors.Add($"{P}MaxMessageBytes {c.MaxMessageBytes} must be between 1 and 67108864.");
        }

        ValidateResume(c, errors);
        ValidateCompression(c.Compression, errors);
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

    private static void ValidateCompression(CompressionOptions c, ICollection<string> errors)
    {
        const string P = "Gateway:Connections:Compression:";
        if (c.ModeError is { } modeError)
        {
            errors.Add(modeError);
        }

        if (c.MinMessageBytes < 0)
        {
            errors.Add($"{P}MinMessageBytes {c.MinMessageBytes} must be 0 or more.");
        }

        // zlib has no 8-bit window for raw deflate (it would use 9, more than a client that asked for 8 allows).
        if (c.ServerMaxWindowBits is < 9 or > 15)
        {
            errors.Add($"{P}ServerMaxWindowBits {c.ServerMaxWindowBits} must be between 9 and 15 (zlib cannot compress with an 8-bit window).");
        }

        if (c.ClientMaxWindowBits is < 8 or > 15)
        {
            errors.Add($"{P}ClientMaxWindowBits {c.ClientMaxWindowBits} must be between 8 and 15.");
        }
    }

    private static void ValidateResume(ConnectionsOptions c, ICollection<string> errors)
    {
        const string P = "Gateway:Connections:";
        if (c.ResumeWindow < TimeSpan.Zero || c.ResumeWindow > TimeSpan.FromHours(1))
        {
            errors.Add($"{P}ResumeWindow {c.ResumeWindow} must be between 00:00:00 (off) and 01:00:00.");
        }

        if (c.ResumeBufferBytes < 1024)
        {
            errors.Add($"{P}ResumeBufferBytes {c.ResumeBufferBytes} must be at least 1024.");
        }

        if (c.ResumeBufferMessages < 1)
        {
            errors.Add($"{P}ResumeBufferMessages {c.ResumeBufferMessages} must be at least 1.");
        }

        for (var i = 0; i < c.ResumeSigningKeys.Count; i++)
        {
            if ((c.ResumeSigningKeys[i] ?? "").Length < 32)
            {
                // The key itself is never written out.
                errors.Add($"{P}ResumeSigningKeys:{i} must be at least 32 characters.");
            }
        }
    }
}
