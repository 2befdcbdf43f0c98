using System.Text;
using System.Text.Json;
using Gateway.Connections;

namespace Gateway.Integrations;

/// <summary>
/// Relays a streamed answer (<c>text/event-stream</c> or <c>application/x-ndjson</c>) to the caller event by event,
/// as the backend produces it, for LLM-style output. It runs beside the connection's later messages, so the client
/// can send a cancel mid-stream; it ends, and the backend request is cancelled, when the client goes away.
/// </summary>
public static class StreamRelay
{
    /// <summary>True for a content type that is relayed as a stream.</summary>
    public static bool IsStream(string? mediaType) =>
        string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase)
        || string.Equals(mediaType, "application/x-ndjson", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads events from <paramref name="body"/>: SSE <c>data:</c> blocks, or NDJSON lines.</summary>
    public static async IAsyncEnumerable<string> ReadEventsAsync(Stream body, bool serverSentEvents, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var reader = new StreamReader(body, Encoding.UTF8);
        var data = new StringBuilder();
        var hasData = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!serverSentEvents)
            {
                if (line.Length > 0)
                {
                    yield return line;
                }

                continue;
            }

            if (line.Length == 0)
            {
                // A blank line ends an event; "[DONE]" is the end marker some model APIs send, not an event.
                if (hasData && data.ToString() is var value && value != "[DONE]")
                {
                    yield return value;
                }

                data.Clear();
                hasData = false;
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (hasData)
                {
                    data.Append('\n');
                }

                data.Append(line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5));
                hasData = true;
            }

            // "event:", "id:", "retry:" and ":" comments carry nothing the client frames need.
        }

        if (hasData && data.ToString() is var last && last != "[DONE]")
        {
            yield return last;
        }
    }

    /// <summary>The text of a chunk: a JSON event's <c>chunk</c>, <c>text</c>, <c>content</c> or <c>delta</c> string, else the whole data.</summary>
    public static string ChunkText(string data, out JsonElement? usage)
    {
        usage = null;
        ArgumentNullException.ThrowIfNull(data);
        if (!data.StartsWith('{'))
        {
            return data;
        }

        try
        {
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            foreach (var name in (string[])["token_usage", "usage"])
            {
                if (root.TryGetProperty(name, out var u) && u.ValueKind == JsonValueKind.Object)
                {
                    usage = u.Clone();
                }
            }

            foreach (var name in (string[])["chunk", "text", "content", "delta"])
            {
                if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    return value.GetString()!;
                }
            }

            return usage is null ? data : "";
        }
        catch (JsonException)
        {
            return data;
        }
    }

    /// <summary>Serializes one connector-protocol frame, with <see cref="Protocol.FrameJson"/> (model text reads as written).</summary>
    public static byte[] ConnectorFrame(string type, JsonElement? id, Action<Utf8JsonWriter>? fields = null)
    {
        using var frame = Protocol.FrameJson.Start();
        var writer = frame.Json;
        writer.WriteStartObject();
        writer.WriteString("type", type);
        writer.WritePropertyName("id");
        if (id is { } value)
        {
            value.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }

        fields?.Invoke(writer);
        writer.WriteEndObject();
        return frame.ToArray();
    }

    /// <summary>Sends a frame to the caller, waiting for room in its queue; false when the caller is gone.</summary>
    public static async ValueTask<bool> SendAsync(GatewayConnection connection, byte[] utf8, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return await connection.SendAsync(OutboundMessage.Text(utf8), cancellationToken) == SendResult.Sent;
    }
}
