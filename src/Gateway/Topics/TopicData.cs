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
}
