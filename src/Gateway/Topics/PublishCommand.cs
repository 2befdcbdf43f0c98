using System.Text.Json;

namespace Gateway.Topics;

/// <summary>
/// A client's <c>publish</c> command as sent: <c>{"action":"publish","channel":"…","type":"…","data":…,"id":…}</c> (the
/// channel also as <c>topic</c>), or, for clients that name commands in <c>type</c>, the event under <c>data</c>:
/// <c>{"type":"publish","data":{"channel":"…","type":"…","data":…}}</c>. The event is read where the channel is: at
/// the top level when it names one, else under <c>data</c>.
/// </summary>
/// <param name="Id">The request's <c>id</c> (undefined when it has none), echoed in the answer.</param>
/// <param name="Channel">The channel named, or null.</param>
/// <param name="Type">The event's type, or null.</param>
/// <param name="Data">The event's data as sent (one JSON value), or null.</param>
/// <param name="Problem">What is wrong with the command, or null.</param>
public sealed record PublishCommand(JsonElement Id, string? Channel, string? Type, byte[]? Data, string? Problem)
{
    /// <summary>The longest event type.</summary>
    public const int MaxTypeLength = BusEventReader.MaxTypeLength;

    /// <summary>Reads a command; never throws. <see cref="Problem"/> names the first thing wrong with it.</summary>
    public static PublishCommand Parse(ReadOnlyMemory<byte> body)
    {
        JsonElement id = default;
        try
        {
            if (!System.Text.Unicode.Utf8.IsValid(body.Span))
            {
                return Invalid(id, "a publish is a JSON object in UTF-8");
            }

            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Invalid(id, "a publish is a JSON object");
            }

            id = Protocol.ClientFrames.RequestId(root);
            var at = HasChannel(root) ? root : root.TryGetProperty("data", out var nested) && HasChannel(nested) ? nested : root;
            var channelElement = at.TryGetProperty("channel", out var c) ? c : at.TryGetProperty("topic", out var t) ? t : default;
            if (channelElement.ValueKind == JsonValueKind.Undefined)
            {
                return Invalid(id, "publish needs a channel");
            }

            if (Protocol.JsonStrings.ValueOrNull(channelElement) is not { Length: > 0 } channel)
            {
                return Invalid(id, "the channel must be a non-empty string");
            }

            if (!at.TryGetProperty("type", out var typeElement))
            {
                return new PublishCommand(id, channel, null, null, "publish needs a type (the event's type, a string)");
            }

            if (Protocol.JsonStrings.ValueOrNull(typeElement) is not { Length: > 0 and <= MaxTypeLength } type || type.Any(char.IsControl))
            {
                return new PublishCommand(id, channel, null, null, $"the type must be a string of 1 to {MaxTypeLength} characters without control characters");
            }

            if (!at.TryGetProperty("data", out var data))
            {
                return new PublishCommand(id, channel, type, null, "publish needs data (any JSON value; null too)");
            }

            return new PublishCommand(id, channel, type, System.Text.Encoding.UTF8.GetBytes(data.GetRawText()), null);
        }
        catch (JsonException)
        {
            return Invalid(id, "a publish is a JSON object");
        }
    }

    private static PublishCommand Invalid(JsonElement id, string problem) => new(id, null, null, null, problem);

    private static bool HasChannel(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && (element.TryGetProperty("channel", out _) || element.TryGetProperty("topic", out _));
}
