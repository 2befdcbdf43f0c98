using Gateway.Backplane;

namespace Gateway.Topics;

/// <summary>Delivers what the backplane brings from other nodes and from services to this node's subscribers, after the topic rules.</summary>
public sealed class TopicDelivery(TopicHub topics) : ILocalTopicDelivery
{
    /// <inheritdoc />
    public bool Publish(string topic, string type, byte[] data)
    {
        if (!TopicData.IsValid(data) || !TopicName.IsValidName(topic, int.MaxValue))
        {
            return false;
        }

        topics.PublishLocal(topic, type, data);
        return true;
    }

    /// <inheritdoc />
    public string? DeliverBusEvent(string topic, ReadOnlySpan<byte> body)
    {
        if (!TopicName.IsValidName(topic, int.MaxValue) || body.IsEmpty)
        {
            return "not a concrete topic name";
        }

        if (!TopicData.TryReadEvent(body, out var type, out var data))
        {
            return "the message must be {\"type\": \"…\", \"data\": …} in UTF-8";
        }

        try
        {
            // Delivered live: numbering it for history would need one node to do it for all, which a service
            // publishing directly does not ask of any.
            topics.DeliverLive(topic, type, data);
            return null;
        }
        catch (ArgumentException)
        {
            return "the message could not be delivered";
        }
    }

    /// <inheritdoc />
    public void ApplyShared(SharedTopicEvent sharedEvent)
    {
        ArgumentNullException.ThrowIfNull(sharedEvent);
        topics.ApplyShared(sharedEvent.Topic, sharedEvent.Epoch, sharedEvent.Offset, sharedEvent.At, sharedEvent.Frame);
    }

    /// <inheritdoc />
    public void SharedEventsInterrupted() => topics.InterruptShared();
}
