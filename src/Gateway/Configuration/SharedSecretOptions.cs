namespace Gateway.Configuration;

/// <summary>A shared secret every client presents on connect.</summary>
public sealed class SharedSecretOptions
{
    /// <summary>The secret; unset turns the mode off.</summary>
    public string? Secret { get; set; }

    /// <summary>The request header the secret may be sent in.</summary>
    public string Header { get; set; } = "X-Gateway-Secret";

    /// <summary>The query parameter the secret may be sent in.</summary>
    public string QueryParameter { get; set; } = "secret";

    /// <summary>Accept a handshake without the secret, and expect <c>{"secret":"..."}</c> as its first message.</summary>
    public bool FirstMessage { get; set; } = true;

    /// <summary>How long after the upgrade the first message may come.</summary>
    public TimeSpan FirstMessageTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>True when a secret is configured.</summary>
    public bool Enabled => !string.IsNullOrEmpty(Secret);
}
