namespace Gateway.Auth;

/// <summary>The secret of an access key id, for verifying AWS Signature Version 4 (the management credentials by default).</summary>
public interface IAccessKeyStore
{
    /// <summary>The secret access key of <paramref name="accessKeyId"/>, or null when it is not configured.</summary>
    string? SecretOf(string accessKeyId);
}
