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

    /// <summary>Topics whose subscribers see who else is there (join and leave frames, the <c>presence</c> command); none by default.</summary>
    public PresenceOptions Presence { get; } = new();

    /// <summary>Backends told when topics become occupied or vacated and when presence members join or leave; none by default.</summary>
    public IList<TopicWebhookOptions> Webhooks { get; } = [];

    /// <summary>
    /// Topics clients may publish to directly (the <c>publish</c> command), each with its rate per connection; none by
    /// default, and the command is not served while there are none.
    /// </summary>
    public IList<ClientPublishOptions> ClientPublish { get; } = [];
}
