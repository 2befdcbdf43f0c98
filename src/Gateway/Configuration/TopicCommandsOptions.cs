namespace Gateway.Configuration;

/// <summary>The route keys of the built-in topic commands.</summary>
public sealed class TopicCommandsOptions
{
    /// <summary>The subscribe command.</summary>
    public string Subscribe { get; set; } = "subscribe";

    /// <summary>The unsubscribe command.</summary>
    public string Unsubscribe { get; set; } = "unsubscribe";

    /// <summary>The ping command, answered <c>{"type":"pong"}</c>.</summary>
    public string Ping { get; set; } = "ping";

    /// <summary>The history command, answered <c>{"type":"history","channel","epoch","offset","events":[…],"complete"}</c>.</summary>
    public string History { get; set; } = "history";

    /// <summary>The presence command, answered <c>{"type":"presence","channel","members":[…],"count"}</c>.</summary>
    public string Presence { get; set; } = "presence";

    /// <summary>
    /// The publish command (<c>{"action":"publish","channel","type","data","id"}</c>), answered <c>published</c> or
    /// <c>publish_failed</c>; served only when <see cref="TopicsOptions.ClientPublish"/> names topics.
    /// </summary>
    public string Publish { get; set; } = "publish";
}
