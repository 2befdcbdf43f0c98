using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Protocol;

/// <summary>
/// The JSON writing of every frame sent to a client: only the escapes JSON requires (<see cref="MinimalJsonEncoder"/>), so
/// <c>"channel":"events.org_1.&gt;"</c>, <c>&lt;</c>, <c>&amp;</c>, <c>'</c>, <c>+</c>, accents and emoji reach the client as written.
/// A page that shows frame content must escape it for HTML itself.
/// </summary>
public static class FrameJson
{
    /// <summary>The encoder of client frames, for a handler that writes its own (<c>JsonSerializerOptions.Encoder</c>).</summary>
    public static JavaScriptEncoder Encoder => MinimalJsonEncoder.Instance;

    /// <summary>The options of every <see cref="Utf8JsonWriter"/> that writes a frame sent to a client.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new() { Encoder = MinimalJsonEncoder.Instance, SkipValidation = false };

    /// <summary>A writer for one frame, its buffer reused on this thread; dispose it after <see cref="FrameWriter.ToArray"/>.</summary>
    public static FrameWriter Start() => FrameWriter.Start();

    /// <summary>The JSON string (quoted, minimally escaped) of <paramref name="text"/>, for text that becomes a value in a frame.</summary>
    public static byte[] StringValue(string text)
    {
        using var frame = Start();
        frame.Json.WriteStringValue(text);
        return frame.ToArray();
    }

    /// <summary>The JSON string of UTF-8 <paramref name="utf8Text"/> (invalid bytes become U+FFFD), without decoding it to a string first.</summary>
    public static byte[] StringValue(ReadOnlySpan<byte> utf8Text)
    {
        using var frame = Start();
        frame.Json.WriteStringValue(utf8Text);
        return frame.ToArray();
    }
}
