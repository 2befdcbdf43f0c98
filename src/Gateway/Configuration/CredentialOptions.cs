namespace Gateway.Configuration;

/// <summary>An access key pair that may sign management calls with AWS Signature Version 4.</summary>
public sealed class CredentialOptions
{
    /// <summary>The access key id (the <c>Credential=</c> part of a signature names it).</summary>
    public string AccessKeyId { get; set; } = "";

    /// <summary>The secret access key.</summary>
    public string SecretAccessKey { get; set; } = "";
}
