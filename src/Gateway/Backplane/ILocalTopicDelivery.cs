namespace Gateway.Backplane;

/// <summary>
/// This node's topic subscribers, as the backplane reaches them with what other nodes and services published. The
/// topics part implements it (the backplane sits below topics and knows no topic rules).
/// </summary>
public interface ILocalTopicDelivery
{
    /// <summary>Delivers an event another node published (numbered by this node's history when the topic keeps one); false when the topic or data is not valid.</summary>
    bool Publish(string topic, string type, byte[] data);

    /// <summary>As <see cref="Publish(string, string, byte[])"/>, but not to the connections in <paramref name="exclude"/>.</summary>
    bool Publish(string topic, string type, byte[] data, IReadOnlySet<string> exclude);

    /// <summary>As <see cref="Publish(string, string, byte[])"/>, for an event a client published: its frame carries <paramref name="from"/>.</summary>
    bool Publish(string topic, string type, byte[] data, EventOrigin from);

    /// <summary>
    /// Validates an event a service published straight into the event bus and delivers it live; when its topic keeps
    /// a history, nothing is delivered and the event is returned to be numbered (every node then delivers it from the
    /// shared history, in offset order).
    /// </summary>
    BusDelivery DeliverBusEvent(BusEvent busEvent);

    /// <summary>Keeps an event of a shared history in this node's copy and delivers it to this node's subscribers.</summary>
    void ApplyShared(SharedTopicEvent sharedEvent);

    /// <summary>
    /// The backplane reconnected: events of shared histories may have been missed meanwhile. Copies whose offsets have
    /// gaps (which cannot show a miss by a jump) must be read again before a client recovers from them.
    /// </summary>
    void SharedEventsInterrupted()
    {
    }
}
