using System.Buffers.Binary;
using System.Text.Json;

namespace Gateway.Backplane;

/// <summary>
/// Who published a topic event: the client connection that sent a <c>publish</c> command, and its user (the JWT
/// subject, null when anonymous). Events published by the management API, in-process code or the event bus have none.
/// Subscribers see it as <c>"from":{"connectionId":"…","userId":"…"|null}</c>.
/// </summary>
/// <param name="ConnectionId">The publishing connection's id.</param>
/// <param name="UserId">Its user, or null.</param>
public sealed record EventOrigin(string ConnectionId, string? UserId)
{
    /// <summary>The longest connection id or user id an origin read from outside may carry.</summary>
    public const int MaxLength = 1024;

    /// <summary>Writes <c>{"connectionId":"…","userId":…}</c> as the value the writer is at.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("connectionId", ConnectionId);
        if (UserId is null)
        {
            writer.WriteNull("userId");
        }
        else
        {
            writer.WriteString("userId", UserId);
        }

        writer.WriteEndObject();
    }

    /// <summary>The origin as a JSON object in UTF-8 (what a header or the all-nodes channel carries).</summary>
    public byte[] ToJson()
    {
        using var frame = Protocol.FrameJson.Start();
        WriteTo(frame.Json);
        return frame.ToArray();
    }

    /// <summary>
    /// Reads <c>{"connectionId":"…","userId":"…"|null}</c>; null when it is not one (not JSON, not an object, an empty
    /// or over-long connection id, a user id that is neither a string nor null).
    /// </summary>
    public static EventOrigin? FromJson(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty || !System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("connectionId", out var id) || Protocol.JsonStrings.ValueOrNull(id) is not { Length: > 0 and <= MaxLength } connectionId)
            {
                return null;
            }

            if (!root.TryGetProperty("userId", out var user) || user.ValueKind == JsonValueKind.Null)
            {
                return new EventOrigin(connectionId, null);
            }

            return Protocol.JsonStrings.ValueOrNull(user) is { Length: <= MaxLength } userId ? new EventOrigin(connectionId, userId) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The data of a publish with its origin in front: the origin's length (little-endian), its JSON, then the data.</summary>
    internal byte[] Wrap(ReadOnlySpan<byte> data)
    {
        var origin = ToJson();
        var bytes = new byte[4 + origin.Length + data.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, origin.Length);
        origin.CopyTo(bytes, 4);
        data.CopyTo(bytes.AsSpan(4 + origin.Length));
        return bytes;
    }

    /// <summary>Takes a payload made by <see cref="Wrap"/> apart; false when the bytes are not one.</summary>
    internal static bool TryUnwrap(byte[] bytes, out EventOrigin origin, out byte[] data)
    {
        origin = null!;
        data = [];
        if (bytes.Length < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (length < 0 || length > bytes.Length - 4 || FromJson(bytes.AsSpan(4, length)) is not { } read)
        {
            return false;
        }

        origin = read;
        data = bytes[(4 + length)..];
        return true;
    }
}
