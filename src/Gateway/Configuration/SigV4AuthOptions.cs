namespace Gateway.Configuration;

/// <summary>AWS Signature Version 4 on the opening handshake (Amazon's IAM authorization of <c>$connect</c>).</summary>
public sealed class SigV4AuthOptions
{
    /// <summary>Accept handshakes signed (in headers or a presigned URL) by an access key of <c>Gateway:Management:Credentials</c>.</summary>
    public bool Enabled { get; set; }
}
