namespace Gateway.Configuration;

/// <summary>A backend told of topic events: posted JSON, signed with <see cref="Secret"/>, retried with backoff.</summary>
public sealed class TopicWebhookOptions
{
    /// <summary>The topics (a pattern) this webhook hears of.</summary>
    public string Pattern { get; set; } = "";

    /// <summary>Where events are posted: an absolute http:// or https:// URL.</summary>
    public string Uri { get; set; } = "";

    /// <summary>Which events: <c>occupied</c>, <c>vacated</c> (the first subscriber came, the last went), <c>join</c>, <c>leave</c> (presence members).</summary>
    public IList<string> Events { get; } = [];

    /// <summary>The key of the HMAC-SHA256 signature sent in <c>X-Gateway-Signature</c>; without one, posts are not signed.</summary>
    public string? Secret { get; set; }

    /// <summary>Attempts per event, the first included, before it is given up and counted as failed.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>How long one attempt may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The wait after the first failed attempt; each later wait doubles, up to a minute.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events waiting to be posted; one more is dropped, logged and counted.</summary>
    public int QueueLimit { get; set; } = 10_000;
}
