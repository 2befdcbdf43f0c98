namespace Gateway.Configuration;

/// <summary>Topic subscriptions: the built-in client commands, their limits, who may subscribe to what, and history.</summary>
public sealed class TopicsOptions
{
    /// <summary>Serve the built-in <c>subscribe</c>, <c>unsubscribe</c> and <c>ping</c> commands.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The route keys of the built-in commands.</summary>
    public TopicCommandsOptions Commands { get; set; } = new();

    /// <summary>Subscriptions one connection may hold; one more is answered <c>subscription_failed</c>.</summary>
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>Longest topic name or pattern, in characters; longer is answered <c>subscription_failed</c>.</summary>
    public int MaxTopicLength { get; set; } = 256;

    /// <summary>Who may subscribe to what.</summary>
    public TopicAuthorizationOptions Authorization { get; set; } = new();

    /// <summary>Topics that keep a history of recent events for recovery after a reconnect; none by default.</summary>
    public IList<TopicHistoryOptions> History { get; } = [];
}

/// <summary>The route keys of the built-in topic commands.</summary>
public sealed class TopicCommandsOptions
{
    /// <summary>The subscribe command.</summary>
    public string Subscribe { get; set; } = "subscribe";

    /// <summary>The unsubscribe command.</summary>
    public string Unsubscribe { get; set; } = "unsubscribe";

    /// <summary>The ping command, answered <c>{"type":"pong"}</c>.</summary>
    public string Ping { get; set; } = "ping";
}

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

/// <summary>History kept for the topics a pattern matches.</summary>
public sealed class TopicHistoryOptions
{
    /// <summary>The topics (a pattern) this applies to; the first entry that matches a topic is its.</summary>
    public string Pattern { get; set; } = "";

    /// <summary>Events kept per topic.</summary>
    public int Size { get; set; } = 100;

    /// <summary>How long an event is kept.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromMinutes(10);
}
