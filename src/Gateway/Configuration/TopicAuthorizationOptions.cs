namespace Gateway.Configuration;

/// <summary>
/// Who may subscribe to what. While client authentication is off every topic is open; once it is on, a connection may
/// subscribe only to patterns covered by those granted to it (its <see cref="Claim"/> and the filled
/// <see cref="Templates"/>) or allowed by the HTTP subscribe authorizer, unless <see cref="AllowAll"/>.
/// </summary>
public sealed class TopicAuthorizationOptions
{
    /// <summary>The claim that lists granted patterns (a JSON array, or one string separated by spaces or commas).</summary>
    public string Claim { get; set; } = "topics";

    /// <summary>Patterns granted to every authenticated connection, with <c>{claim}</c> filled from its claims (<c>events.{org_id}.&gt;</c>).</summary>
    public IList<string> Templates { get; } = [];

    /// <summary>Every topic open to every connection, authenticated or not.</summary>
    public bool AllowAll { get; set; }

    /// <summary>An HTTP backend asked about subscriptions the granted patterns do not cover; unset, they are refused.</summary>
    public string? Uri { get; set; }

    /// <summary>How long the subscribe authorizer may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
