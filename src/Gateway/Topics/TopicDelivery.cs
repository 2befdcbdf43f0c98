using Gateway.Backplane;

namespace Gateway.Topics;

/// <summary>Delivers what the backplane brings from other nodes and from services to this node's subscribers, after the topic rules.</summary>
public sealed class TopicDelivery(TopicHub topics) : ILocalTopicDelivery
{
    /// <inheritdoc />
    public bool Publish(string topic, string type, byte[] data) => Publish(topic, type, data, (IReadOnlySet<string>?)null);

    /// <inheritdoc />
    public bool Publish(string topic, string type, byte[] data, IReadOnlySet<string>? exclude)
    {
        if (!IsValid(topic, data))
        {
            return false;
        }

        topics.PublishLocal(topic, type, data, exclude);
        return true;
    }

    /// <inheritdoc />
    public bool Publish(string topic, string type, byte[] data, EventOrigin from)
    {
        if (!IsValid(topic, data))
        {
            return false;
        }

        topics.PublishLocal(topic, type, data, from);
        return true;
    }

    /// <inheritdoc />
    public BusDelivery DeliverBusEvent(BusEvent busEvent)
    {
        ArgumentNullException.ThrowIfNull(busEvent);
        if (BusEventReader.TryRead(busEvent, out var type, out var data) is { } refused)
        {
            return BusDelivery.Refuse(refused);
        }

        var topic = busEvent.Topic;
        if (topics.HistoryRule(topic) is { } rule)
        {
            // Numbered like a gateway-side publish: one node numbers it in the shared history, every node delivers it from there.
            return new BusDelivery(null, new HistoryEvent(topic, type, data, TopicFrames.EventPrefix(topic, type, data, busEvent.From), rule.Size, rule.Ttl, busEvent.From));
        }

        topics.DeliverLive(topic, type, data, busEvent.Exclude, busEvent.From);
        return BusDelivery.Delivered;
    }

    /// <inheritdoc />
    public void ApplyShared(SharedTopicEvent sharedEvent)
    {
        ArgumentNullException.ThrowIfNull(sharedEvent);
        topics.ApplyShared(sharedEvent.Topic, sharedEvent.Epoch, sharedEvent.Offset, sharedEvent.At, sharedEvent.Frame);
    }

    /// <inheritdoc />
    public void SharedEventsInterrupted() => topics.InterruptShared();

    /// <summary>Whether an event another node or the bus delivered may be delivered here: a topic name and one JSON value.</summary>
    private static bool IsValid(string topic, byte[] data) => TopicData.IsValid(data) && TopicName.IsValidName(topic, int.MaxValue);
}
