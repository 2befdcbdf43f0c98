using Gateway.Configuration;

namespace Gateway.Hosting;

/// <summary>The checks of <c>Gateway:Sse</c>, and of the stage name the event stream's path reserves.</summary>
public static class SseOptionsValidator
{
    /// <summary>The path segment of the event stream: <c>/sse</c> and <c>/{Stage}/sse</c>.</summary>
    public const string PathSegment = "sse";

    /// <summary>Adds a line to <paramref name="errors"/> for each problem of <paramref name="options"/> this part owns.</summary>
    public static void Validate(GatewayOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        const string P = "Gateway:Sse:";
        var sse = options.Sse;
        if (string.Equals(options.Stage, PathSegment, StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"Gateway:Stage '{options.Stage}' is reserved: /{PathSegment} is the Server-Sent Events stream. Choose another stage name.");
        }

        if (sse.KeepAliveInterval < TimeSpan.FromMilliseconds(100) || sse.KeepAliveInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{P}KeepAliveInterval {sse.KeepAliveInterval} must be between 00:00:00.1 and 01:00:00.");
        }

        foreach (var origin in sse.AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            {
                errors.Add($"{P}AllowedOrigins '{origin}' must be an origin: http:// or https://, a host and an optional port, no path.");
            }
        }
    }
}
