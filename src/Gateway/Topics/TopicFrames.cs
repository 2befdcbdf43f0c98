using Gateway.Backplane;

namespace Gateway.Topics;

/// <summary>
/// The event frames topics send: <c>{"type":…,"channel":…,"data":…,"from":…,"offset":…}</c> (<c>from</c> only for an
/// event a client published, <c>offset</c> only where the topic keeps history), serialized once per publish.
/// </summary>
public static class TopicFrames
{
    /// <summary>Serializes an event frame, once per publish however many receive it; <paramref name="data"/> must be one valid JSON value.</summary>
    public static byte[] Event(string topic, string type, ReadOnlySpan<byte> data, long? offset) => Event(topic, type, data, null, offset);

    /// <summary>As <see cref="Event(string, string, ReadOnlySpan{byte}, long?)"/>, with who published it when a client did.</summary>
    public static byte[] Event(string topic, string type, ReadOnlySpan<byte> data, EventOrigin? from, long? offset)
    {
        using var frame = Protocol.FrameJson.Start();
        var writer = frame.Json;
        writer.WriteStartObject();
        writer.WriteString("type", type);
        writer.WriteString("channel", topic);
        writer.WritePropertyName("data");

        // The data is the publisher's JSON, sent as published (its escapes are its own).
        writer.WriteRawValue(data, skipInputValidation: true);

        // Before the offset: a store that numbers events appends the offset to a prefix that already holds it.
        if (from is not null)
        {
            writer.WritePropertyName("from");
            from.WriteTo(writer);
        }

        if (offset is { } n)
        {
            writer.WriteNumber("offset", n);
        }

        writer.WriteEndObject();
        return frame.ToArray();
    }

    /// <summary>The frame of an event without its closing brace, for a backplane that appends the offset it assigns.</summary>
    public static byte[] EventPrefix(string topic, string type, ReadOnlySpan<byte> data) => EventPrefix(topic, type, data, null);

    /// <summary>As <see cref="EventPrefix(string, string, ReadOnlySpan{byte})"/>, with who published it when a client did.</summary>
    public static byte[] EventPrefix(string topic, string type, ReadOnlySpan<byte> data, EventOrigin? from)
    {
        var frame = Event(topic, type, data, from, null);
        return frame[..^1];
    }
}
