using System.Text.Json;

namespace Gateway.Backplane;

/// <summary>
/// One node as the admin dashboard shows it. Each node makes its own every sample interval and hands it to the
/// backplane, so that any node can show the whole cluster.
/// </summary>
/// <param name="NodeId">The node.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="At">When this report was made.</param>
/// <param name="Connections">Open connections.</param>
/// <param name="Subscriptions">Topic subscriptions.</param>
/// <param name="MessagesInPerSecond">Client messages per second over the last interval.</param>
/// <param name="MessagesOutPerSecond">Frames to clients per second over the last interval.</param>
/// <param name="Samples">The node's recent samples, oldest first.</param>
/// <param name="Topics">Its most subscribed patterns with their subscriber counts.</param>
/// <param name="TopicPatterns">How many patterns it has subscribers for in all.</param>
public sealed record NodeReport(
    string NodeId,
    DateTimeOffset StartedAt,
    DateTimeOffset At,
    int Connections,
    int Subscriptions,
    double MessagesInPerSecond,
    double MessagesOutPerSecond,
    IReadOnlyList<NodeSample> Samples,
    IReadOnlyList<KeyValuePair<string, int>> Topics,
    int TopicPatterns)
{
    /// <summary>The report as JSON, as the dashboard's endpoints and the Redis backplane carry it.</summary>
    public void WriteTo(Utf8JsonWriter json, bool withSamples)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteString("nodeId", NodeId);
        json.WriteString("startedAt", StartedAt);
        json.WriteString("at", At);
        json.WriteNumber("connections", Connections);
        json.WriteNumber("subscriptions", Subscriptions);
        json.WriteNumber("messagesInPerSecond", Math.Round(MessagesInPerSecond, 2));
        json.WriteNumber("messagesOutPerSecond", Math.Round(MessagesOutPerSecond, 2));
        json.WriteNumber("topicPatterns", TopicPatterns);
        json.WriteStartArray("topics");
        foreach (var (pattern, subscribers) in Topics)
        {
            json.WriteStartObject();
            json.WriteString("pattern", pattern);
            json.WriteNumber("subscribers", subscribers);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (withSamples)
        {
            json.WriteStartArray("samples");
            foreach (var sample in Samples)
            {
                sample.WriteTo(json);
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary>The report as UTF-8 JSON.</summary>
    public byte[] ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteTo(json, withSamples: true);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a report written by <see cref="ToJson"/>; null when the bytes are not one.</summary>
    public static NodeReport? FromJson(ReadOnlySpan<byte> utf8)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            var root = document.RootElement;
            var samples = new List<NodeSample>();
            if (root.TryGetProperty("samples", out var list))
            {
                foreach (var s in list.EnumerateArray())
                {
                    samples.Add(new NodeSample(s.GetProperty("t").GetInt64(), s.GetProperty("connections").GetInt32(), s.GetProperty("in").GetDouble(), s.GetProperty("out").GetDouble()));
                }
            }

            var topics = new List<KeyValuePair<string, int>>();
            foreach (var t in root.GetProperty("topics").EnumerateArray())
            {
                topics.Add(new(t.GetProperty("pattern").GetString()!, t.GetProperty("subscribers").GetInt32()));
            }

            return new NodeReport(
                root.GetProperty("nodeId").GetString()!,
                root.GetProperty("startedAt").GetDateTimeOffset(),
                root.GetProperty("at").GetDateTimeOffset(),
                root.GetProperty("connections").GetInt32(),
                root.GetProperty("subscriptions").GetInt32(),
                root.GetProperty("messagesInPerSecond").GetDouble(),
                root.GetProperty("messagesOutPerSecond").GetDouble(),
                samples,
                topics,
                root.GetProperty("topicPatterns").GetInt32());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or NullReferenceException)
        {
            return null;
        }
    }
}

/// <summary>One sample of a node: at <paramref name="Time"/> (Unix milliseconds, a multiple of the sample interval, so
/// that the samples of all nodes line up), its connections and message rates.</summary>
/// <param name="Time">Unix milliseconds.</param>
/// <param name="Connections">Open connections.</param>
/// <param name="MessagesIn">Client messages per second.</param>
/// <param name="MessagesOut">Frames to clients per second.</param>
public readonly record struct NodeSample(long Time, int Connections, double MessagesIn, double MessagesOut)
{
    /// <summary>Writes the sample as <c>{"t","connections","in","out"}</c>.</summary>
    public void WriteTo(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteNumber("t", Time);
        json.WriteNumber("connections", Connections);
        json.WriteNumber("in", Math.Round(MessagesIn, 2));
        json.WriteNumber("out", Math.Round(MessagesOut, 2));
        json.WriteEndObject();
    }
}
