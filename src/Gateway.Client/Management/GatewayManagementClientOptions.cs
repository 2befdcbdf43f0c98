namespace Gateway.Client.Management;

/// <summary>Where the management API is and how to authenticate to it.</summary>
public sealed class GatewayManagementClientOptions
{
    /// <summary>The management API's base URL, with a stage prefix or not (<c>http://127.0.0.1:8081/</c>, <c>https://gw/prod</c>); when null, the HttpClient's <c>BaseAddress</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>An API key (<c>Management:ApiKeys</c>), sent as <c>x-api-key</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>An access key id (<c>Management:Credentials</c>): calls are signed with Signature Version 4.</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>The secret of <see cref="AccessKeyId"/>.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>The region in the signature's scope (the gateway accepts any; <c>us-east-1</c>).</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The clock that dates signatures.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
