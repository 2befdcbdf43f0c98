namespace Gateway.Backplane;

/// <summary>What a <see cref="IBackplaneTransport"/> hands to the protocol. Each call returns quickly: the caller reads a channel.</summary>
public interface IBackplaneReceiver
{
    /// <summary>Bytes that arrived on this node's channel or the all-nodes channel.</summary>
    void OnMessage(byte[] message);

    /// <summary>An event of a shared history, numbered by <see cref="IBackplaneTransport.AppendHistoryAsync"/>.</summary>
    void OnSharedEvent(SharedTopicEvent sharedEvent);

    /// <summary>An event published straight into the store's event bus (not yet validated).</summary>
    void OnBusEvent(BusEvent busEvent);

    /// <summary>An event of the event bus the transport read and refused itself (one of a history it numbers), for <paramref name="reason"/>.</summary>
    void OnBusEventRefused(string topic, string reason);

    /// <summary>
    /// The store came back after an outage (or, with offsets that have gaps, shared events may have been missed): the
    /// node announces itself again at once, and reads shared histories whose offsets have gaps again before a client
    /// recovers from them.
    /// </summary>
    void OnReconnected();
}
