using System.Text.Json;
using System.Text.Unicode;

namespace Gateway.Topics;

/// <summary>The <c>data</c> of a topic event: exactly one JSON value, in valid UTF-8, so every frame made with it is valid.</summary>
public static class TopicData
{
    /// <summary>True when <paramref name="utf8"/> is valid UTF-8 holding exactly one JSON value.</summary>
    public static bool IsValid(ReadOnlySpan<byte> utf8)
    {
        // The JSON reader does not check UTF-8 inside strings, so the bytes are checked first.
        if (utf8.IsEmpty || !Utf8.IsValid(utf8))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(utf8);
            return reader.Read() && reader.TrySkip() && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads an event written as <c>{"type": "…", "data": …}</c> (valid UTF-8, a non-empty string type; no data is
    /// <c>null</c>), as the management API and the Redis event bus take it. False when it is not one.
    /// </summary>
    public static bool TryReadEvent(ReadOnlySpan<byte> utf8, out string type, out byte[] data)
    {
        type = "";
        data = [];
        if (!Utf8.IsValid(utf8))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var t) || Protocol.JsonStrings.ValueOrNull(t) is not { Length: > 0 } named)
            {
                return false;
            }

            type = named;
            data = root.TryGetProperty("data", out var d) ? System.Text.Encoding.UTF8.GetBytes(d.GetRawText()) : "null"u8.ToArray();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
