using Gateway.Configuration;

namespace Gateway.Integrations;

/// <summary>The checks of <c>http</c> integrations: the backend URL, timeouts, streams, the stream topic, retries.</summary>
public static class IntegrationOptionsValidator
{
    /// <summary>Adds a line to <paramref name="errors"/> for each problem of the routes' <c>http</c> integrations.</summary>
    public static void Validate(GatewayOptions options, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var (section, route) in options.Routes)
        {
            var at = $"Gateway:Routes:{section}";
            if (route.Integration is { Type: "http" } http)
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
        }
    }
}
