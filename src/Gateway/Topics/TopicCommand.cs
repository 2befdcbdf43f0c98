using System.Text.Json;

namespace Gateway.Topics;

/// <summary>
/// A client command as sent: <c>{"action":"subscribe","channel":"…","id":…}</c>, with the channel (or <c>topic</c>) and
/// <c>since</c> at the top level or under <c>data</c>, as in <c>{"type":"subscribe","data":{"channel":"…"}}</c>.
/// </summary>
/// <param name="Id">The request's <c>id</c> (undefined when it has none), echoed in the answer.</param>
/// <param name="Channel">The channel named, or null.</param>
/// <param name="Since">The recovery position, or null.</param>
/// <param name="Valid">False when the body is not a JSON object, or <c>since</c> is not <c>{"offset": n, "epoch": "…"}</c>.</param>
public sealed record TopicCommand(JsonElement Id, string? Channel, RecoveryPosition? Since, bool Valid)
{
    /// <summary>Reads a command; never throws.</summary>
    public static TopicCommand Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new TopicCommand(default, null, null, false);
            }

            var data = root.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
            var channel = StringOf(root, "channel") ?? StringOf(root, "topic") ?? StringOf(data, "channel") ?? StringOf(data, "topic");
            var id = Protocol.ClientFrames.RequestId(root);
            var sinceElement = root.TryGetProperty("since", out var top) ? top : data.ValueKind == JsonValueKind.Object && data.TryGetProperty("since", out var nested) ? nested : default;
            if (sinceElement.ValueKind == JsonValueKind.Undefined)
            {
                return new TopicCommand(id, channel, null, true);
            }

            var since = SinceOf(sinceElement);
            return new TopicCommand(id, channel, since, since is not null);
        }
        catch (JsonException)
        {
            return new TopicCommand(default, null, null, false);
        }
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? Protocol.JsonStrings.ValueOrNull(value) : null;

    private static RecoveryPosition? SinceOf(JsonElement since) =>
        since.ValueKind == JsonValueKind.Object && since.TryGetProperty("offset", out var offset) && offset.ValueKind == JsonValueKind.Number
            && offset.TryGetInt64(out var n) && StringOf(since, "epoch") is { } epoch
            ? new RecoveryPosition(n, epoch)
            : null;
}
