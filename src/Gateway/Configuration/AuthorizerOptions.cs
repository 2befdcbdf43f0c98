namespace Gateway.Configuration;

/// <summary>An HTTP authorizer, like Amazon API Gateway's REQUEST authorizer for <c>$connect</c>.</summary>
public sealed class AuthorizerOptions
{
    /// <summary>The backend URL the authorizer event is POSTed to; unset turns the mode off.</summary>
    public string? Uri { get; set; }

    /// <summary>
    /// Where the identity comes from, in Amazon's syntax (<c>route.request.header.Auth</c>,
    /// <c>route.request.querystring.token</c>). A handshake missing any of them is answered 401 without a call.
    /// </summary>
    public IList<string> IdentitySources { get; } = [];

    /// <summary>How long an answer is reused for the same identity; zero calls the backend every time.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most identities cached at once.</summary>
    public int MaxCacheEntries { get; set; } = 10_000;

    /// <summary>How long the backend may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>True when a URL is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Uri);
}
