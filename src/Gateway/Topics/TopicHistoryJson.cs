using System.Text.Json;

namespace Gateway.Topics;

/// <summary>How a history read is written, by the client command and the management API alike.</summary>
public static class TopicHistoryJson
{
    /// <summary>Writes <c>"channel","epoch","offset","recovered"?,"events":[…],"complete"</c> into an object being written.</summary>
    public static void Write(Utf8JsonWriter writer, string channel, TopicHistoryPage page)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(page);
        writer.WriteString("channel", channel);
        writer.WriteString("epoch", page.Epoch);
        writer.WriteNumber("offset", page.Offset);
        if (page.Recovered is { } recovered)
        {
            writer.WriteBoolean("recovered", recovered);
        }

        writer.WriteStartArray("events");
        foreach (var frame in page.Events)
        {
            // The frames are the gateway's own JSON, as sent live.
            writer.WriteRawValue(frame, skipInputValidation: true);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("complete", page.Complete);
    }
}
