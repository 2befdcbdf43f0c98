using System.Text.Json;
using Gateway.Routing;

namespace Gateway.Integrations;

/// <summary>
/// The connector envelope of a route (<c>"Envelope": "connector"</c>): the message's <c>id</c>, the frames that carry
/// it (<c>ack</c>, <c>response</c>, <c>stream_start</c>, <c>stream_chunk</c>, <c>stream_end</c>, <c>error</c>), and the
/// text and token usage taken from the backend's chunks.
/// </summary>
public static class ConnectorEnvelope
{
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
    public static byte[] Frame(string type, JsonElement? id, Action<Utf8JsonWriter>? fields = null)
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

    /// <summary>Writes a frame's <c>token_usage</c>: the backend's usage object, or null.</summary>
    public static void WriteUsage(Utf8JsonWriter writer, JsonElement? usage)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName("token_usage");
        if (usage is { } u)
        {
            u.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    /// <summary>The <c>id</c> of the client's message, answered in every frame of the envelope; null when it has none.</summary>
    internal static JsonElement? MessageIdOf(GatewayRouteContext context)
    {
        if (context.IsBinary)
        {
            return null;
        }

        try
        {
            using var doc = JsonDocument.Parse(context.Body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("id", out var id) ? id.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
