using System.Text.Json;

namespace Gateway.Routing;

/// <summary>
/// What <c>$connect</c> gave a connection beside accepting it, kept on the connection: members for its connected frame
/// and its presence <c>info</c>. An integration answers them as <c>{"connected": {…}, "presenceInfo": …}</c>.
/// </summary>
/// <param name="ConnectedMembers">The members added to the connected frame, as the JSON of an object (reserved names removed), or null.</param>
/// <param name="PresenceInfo">The presence info as JSON, or null.</param>
public sealed record ConnectAnswer(byte[]? ConnectedMembers, byte[]? PresenceInfo)
{
    /// <summary>Names the gateway writes into the connected frame itself.</summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.Ordinal) { "type", "connectionId", "resumeToken" };

    /// <summary>The answer of a <c>$connect</c> result, or null when it gives nothing beyond accepting.</summary>
    public static ConnectAnswer? Of(RouteResult result)
    {
        var members = result.Connected is { ValueKind: JsonValueKind.Object } connected ? Members(connected) : null;
        var info = result.PresenceInfo is { ValueKind: not JsonValueKind.Undefined } presence ? JsonSerializer.SerializeToUtf8Bytes(presence) : null;
        return members is null && info is null ? null : new ConnectAnswer(members, info);
    }

    /// <summary>
    /// Reads an integration's <c>$connect</c> answer body: a JSON object with <c>connected</c> (an object) and/or
    /// <c>presenceInfo</c>; anything else (an empty body, text, other JSON) gives nothing, as Amazon ignores it.
    /// </summary>
    public static (JsonElement? Connected, JsonElement? PresenceInfo) Read(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty || !System.Text.Unicode.Utf8.IsValid(body))
        {
            return (null, null);
        }

        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            JsonElement? connected = root.TryGetProperty("connected", out var c) && c.ValueKind == JsonValueKind.Object ? c.Clone() : null;
            JsonElement? info = root.TryGetProperty("presenceInfo", out var p) && p.ValueKind != JsonValueKind.Null ? p.Clone() : null;
            return (connected, info);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    private static byte[]? Members(JsonElement connected)
    {
        using var frame = Protocol.FrameJson.Start();
        var writer = frame.Json;
        writer.WriteStartObject();
        var any = false;
        foreach (var member in connected.EnumerateObject())
        {
            if (Reserved.Contains(member.Name))
            {
                continue;
            }

            member.WriteTo(writer);
            any = true;
        }

        writer.WriteEndObject();
        return any ? frame.ToArray() : null;
    }
}
