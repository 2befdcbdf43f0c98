using Gateway.Connections;
using Gateway.Topics;

namespace Gateway.Hosting;

/// <summary>
/// What a node hands over with a session its client resumed on another node: how many frames the client has, when the
/// session opened, its attributes and <c>$connect</c> answer, its subscriptions (with the position each topic with
/// history had reached), and the frames the client missed, in order.
/// </summary>
internal sealed record SessionState(
    long Written,
    long ConnectedAtTicks,
    IReadOnlyDictionary<string, string> Attributes,
    byte[]? ConnectedMembers,
    byte[]? PresenceInfo,
    IReadOnlyList<(string Pattern, TopicPosition? Position)> Topics,
    IReadOnlyList<OutboundMessage> Frames)
{
    /// <summary>The sequence number of the last message an event-stream client posted (0: none, or not such a client).</summary>
    public long SsePostsApplied { get; init; }

    private const byte Version = 1;

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write(Written);
            w.Write(ConnectedAtTicks);
            w.Write(Attributes.Count);
            foreach (var (key, value) in Attributes)
            {
                w.Write(key);
                w.Write(value);
            }

            WriteBytes(w, ConnectedMembers);
            WriteBytes(w, PresenceInfo);
            w.Write(Topics.Count);
            foreach (var (pattern, position) in Topics)
            {
                w.Write(pattern);
                w.Write(position is not null);
                if (position is not null)
                {
                    w.Write(position.Epoch);
                    w.Write(position.Offset);
                }
            }

            w.Write(Frames.Count);
            foreach (var frame in Frames)
            {
                w.Write((byte)frame.Kind);
                WriteBytes(w, frame.Payload.ToArray());
            }

            // Last, so that a node that does not know it reads the rest as before.
            w.Write(SsePostsApplied);
        }

        return buffer.ToArray();
    }

    public static SessionState? FromBytes(byte[] bytes)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes), System.Text.Encoding.UTF8);
            if (r.ReadByte() != Version)
            {
                return null;
            }

            var written = r.ReadInt64();
            var connectedAt = r.ReadInt64();
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var n = r.ReadInt32(); n > 0; n--)
            {
                attributes[r.ReadString()] = r.ReadString();
            }

            var members = ReadBytes(r);
            var info = ReadBytes(r);
            var topics = new List<(string, TopicPosition?)>();
            for (var n = r.ReadInt32(); n > 0; n--)
            {
                var pattern = r.ReadString();
                topics.Add((pattern, r.ReadBoolean() ? new TopicPosition(r.ReadString(), r.ReadInt64(), null) : null));
            }

            var frames = new List<OutboundMessage>();
            for (var n = r.ReadInt32(); n > 0; n--)
            {
                var kind = (OutboundKind)r.ReadByte();
                frames.Add(new OutboundMessage(ReadBytes(r) ?? [], kind));
            }

            var applied = r.BaseStream.Position + sizeof(long) <= r.BaseStream.Length ? r.ReadInt64() : 0;
            return new SessionState(written, connectedAt, attributes, members, info, topics, frames) { SsePostsApplied = applied };
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or FormatException)
        {
            return null;
        }
    }

    private static void WriteBytes(BinaryWriter w, byte[]? bytes)
    {
        w.Write(bytes?.Length ?? -1);
        if (bytes is not null)
        {
            w.Write(bytes);
        }
    }

    private static byte[]? ReadBytes(BinaryReader r)
    {
        var length = r.ReadInt32();
        return length < 0 ? null : r.ReadBytes(length);
    }
}
