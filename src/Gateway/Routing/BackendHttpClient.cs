namespace Gateway.Routing;

/// <summary>
/// The name of the pooled <see cref="HttpClient"/> every call to a backend goes through (integrations, the HTTP
/// authorizer, the topic authorizer): one connection pool and one set of limits for all of them.
/// </summary>
public static class BackendHttpClient
{
    /// <summary>The client's name in <see cref="IHttpClientFactory"/>.</summary>
    public const string Name = "Gateway.Integrations";
}
