using System.Text.Json;

namespace Gateway.Protocol;

/// <summary>
/// The frames of the gateway's own client commands (token refresh, and later subscriptions):
/// <c>{"type":"error","code":...,"message":...,"id":...}</c> and typed answers that echo the request's <c>id</c>, written
/// with <see cref="FrameJson"/> (a channel in a message reads <c>events.org_1.&gt;</c>, and the id comes back as the client wrote it).
/// </summary>
public static class ClientFrames
{
    /// <summary>An error frame; <paramref name="id"/> is echoed when the request carried one.</summary>
    public static byte[] Error(string code, string message, JsonElement id) =>
        Write(w =>
        {
            w.WriteString("type", "error");
            w.WriteString("code", code);
            w.WriteString("message", message);
            WriteId(w, id);
        });

    /// <summary>A frame <c>{"type": type, ...members, "id": id}</c>.</summary>
    public static byte[] Typed(string type, JsonElement id, Action<Utf8JsonWriter>? members = null) =>
        Write(w =>
        {
            w.WriteString("type", type);
            members?.Invoke(w);
            WriteId(w, id);
        });

    /// <summary>The request's <c>id</c>, or an undefined element when it has none or the body is not a JSON object.</summary>
    public static JsonElement RequestId(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("id", out var id) ? id.Clone() : default;

    private static void WriteId(Utf8JsonWriter writer, JsonElement id)
    {
        if (id.ValueKind != JsonValueKind.Undefined)
        {
            writer.WritePropertyName("id");
            id.WriteTo(writer);
        }
    }

    private static byte[] Write(Action<Utf8JsonWriter> members)
    {
        using var frame = FrameJson.Start();
        frame.Json.WriteStartObject();
        members(frame.Json);
        frame.Json.WriteEndObject();
        return frame.ToArray();
    }
}
