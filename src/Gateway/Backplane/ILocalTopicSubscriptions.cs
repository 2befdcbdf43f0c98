namespace Gateway.Backplane;

/// <summary>
/// Subscribes and unsubscribes this node's connections for the server, as the backplane reaches them when another
/// node asks. The topics part implements it (the backplane sits below topics and knows no topic rules).
/// </summary>
public interface ILocalTopicSubscriptions
{
    /// <summary>
    /// Subscribes connection <paramref name="connectionId"/> of this node to <paramref name="topic"/> (a valid topic or
    /// pattern) and tells the client; already subscribed is done, and tells it nothing.
    /// </summary>
    ValueTask<ServerTopicResult> SubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken);

    /// <summary>Unsubscribes connection <paramref name="connectionId"/> of this node from <paramref name="topic"/> and tells the client when it was subscribed.</summary>
    ServerTopicResult Unsubscribe(string connectionId, string topic);
}
