namespace Gateway.Topics;

/// <summary>The event frames topics send: <c>{"type":…,"channel":…,"data":…,"offset":…}</c>, serialized once per publish.</summary>
public static class TopicFrames
{
    /// <summary>Serializes an event frame, once per publish however many receive it; <paramref name="data"/> must be one valid JSON value.</summary>
    public static byte[] Event(string topic, string type, ReadOnlySpan<byte> data, long? offset)
    {
        using var frame = Protocol.FrameJson.Start();
        var writer = frame.Json;
        writer.WriteStartObject();
        writer.WriteString("type", type);
        writer.WriteString("channel", topic);
        writer.WritePropertyName("data");

        // The data is the publisher's JSON, sent as published (its escapes are its own).
        writer.WriteRawValue(data, skipInputValidation: true);
        if (offset is { } n)
        {
            writer.WriteNumber("offset", n);
        }

        writer.WriteEndObject();
        return frame.ToArray();
    }

    /// <summary>The frame of an event without its closing brace, for a backplane that appends the offset it assigns.</summary>
    public static byte[] EventPrefix(string topic, string type, ReadOnlySpan<byte> data)
    {
        var frame = Event(topic, type, data, null);
        return frame[..^1];
    }
}
