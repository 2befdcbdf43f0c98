using System.Text.Json;
using System.Text.Unicode;
using Gateway.Backplane;

namespace Gateway.Topics;

/// <summary>
/// Reads an event of the engine's event bus into the type and data of a topic event, or says why it is refused.
/// Reasons, as metrics and logs name them: <c>topic</c> (the subject or channel is not a concrete topic name),
/// <c>size</c> (over <see cref="MaxBytes"/>), <c>utf8</c> and <c>json</c> (an envelope that is not UTF-8 JSON),
/// <c>type</c> (no type anywhere), <c>header</c> (a type header that is empty, too long or holds control characters).
/// </summary>
public static class BusEventReader
{
    /// <summary>The largest event a service may publish into the event bus.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>The longest event type.</summary>
    public const int MaxTypeLength = 256;

    /// <summary>
    /// Reads <paramref name="busEvent"/>. In the <see cref="BusEventForm.Body"/> form the type is the header's, else
    /// the <c>type</c> field of a JSON object body; the data is the body when it is one JSON value in UTF-8, else the
    /// body as a JSON string when it is UTF-8 text, else its base64 as a JSON string. Returns null when read, else
    /// the reason it is refused.
    /// </summary>
    public static string? TryRead(BusEvent busEvent, out string type, out byte[] data)
    {
        ArgumentNullException.ThrowIfNull(busEvent);
        type = "";
        data = [];
        var body = busEvent.Body;
        if (!TopicName.IsValidName(busEvent.Topic, int.MaxValue))
        {
            return "topic";
        }

        if (body.Length > MaxBytes)
        {
            return "size";
        }

        if (busEvent.Form == BusEventForm.Envelope)
        {
            if (!Utf8.IsValid(body))
            {
                return "utf8";
            }

            return TopicData.TryReadEvent(body, out type, out data) ? null : IsJson(body) ? "type" : "json";
        }

        var isText = Utf8.IsValid(body);
        var isJson = isText && TopicData.IsValid(body);
        if (busEvent.TypeHeader is { } header)
        {
            if (header.Length is 0 or > MaxTypeLength || header.Any(char.IsControl))
            {
                return "header";
            }

            type = header;
        }
        else if (!isJson || TypeField(body) is not { } field)
        {
            return "type";
        }
        else
        {
            type = field;
        }

        data = isJson ? body : isText ? Protocol.FrameJson.StringValue(body) : Protocol.FrameJson.StringValue(Convert.ToBase64String(body));
        return null;
    }

    private static bool IsJson(byte[] body) => TopicData.IsValid(body);

    private static string? TypeField(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("type", out var t)
                && Protocol.JsonStrings.ValueOrNull(t) is { Length: > 0 and <= MaxTypeLength } named
                && !named.Any(char.IsControl)
                ? named
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
