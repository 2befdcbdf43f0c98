namespace Gateway.Configuration;

/// <summary>The management API (<c>@connections</c> and friends).</summary>
public sealed class ManagementOptions
{
    /// <summary>
    /// Where backends reach the management API (<c>https://gateway-mgmt:8081</c>). Integration events carry its host
    /// and port as <c>requestContext.domainName</c>; unset, it is <c>localhost</c> and the management listener's port.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>Largest body a push may carry (Amazon API Gateway's limit is 128 KB); larger answers 413.</summary>
    public int MaxPayloadBytes { get; set; } = 128 * 1024;

    /// <summary>API keys accepted in <c>x-api-key</c> or <c>Authorization: Bearer</c>.</summary>
    public IList<string> ApiKeys { get; } = [];

    /// <summary>Access key pairs accepted in AWS Signature Version 4 signatures, as the AWS SDKs sign.</summary>
    public IList<CredentialOptions> Credentials { get; } = [];

    /// <summary>
    /// Accept calls without credentials from any address. Without it, anonymous calls are accepted from
    /// loopback only, and only while no credentials (API keys or access keys) are configured.
    /// </summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>Largest page <c>GET /@connections</c> returns.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>
    /// How long an <c>Idempotency-Key</c> is remembered (per resource path): a repeat within it is answered with the first
    /// answer and delivers nothing again.
    /// </summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most items one <c>POST /@batch</c> may carry; more answers 413.</summary>
    public int MaxBatchItems { get; set; } = 1000;

    /// <summary>Largest body <c>POST /@batch</c> may carry (separate from <see cref="MaxPayloadBytes"/>); larger answers 413.</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;

    /// <summary>The admin dashboard at <c>/admin</c> on the management listener.</summary>
    public DashboardOptions Dashboard { get; } = new();
}
