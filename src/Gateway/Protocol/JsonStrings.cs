using System.Text.Json;

namespace Gateway.Protocol;

/// <summary>
/// Strings read from JSON a client or a caller sent. An escaped lone surrogate (<c>"\uD800"</c>) is valid JSON but no
/// valid string, and the framework throws <see cref="InvalidOperationException"/> reading it: to every part that
/// reads input, such a value is simply not a usable string, answered as bad input and never as an internal error.
/// </summary>
public static class JsonStrings
{
    /// <summary>The element's string, or null when it is not a string or does not decode to valid Unicode.</summary>
    public static string? ValueOrNull(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The reader's current string, or null when it does not decode to valid Unicode.</summary>
    public static string? ValueOrNull(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
