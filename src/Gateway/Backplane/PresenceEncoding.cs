using System.Text;

namespace Gateway.Backplane;

/// <summary>
/// Presence on the wire: a join's payload is its number and the member (user id, info); a leave's is its number; a
/// node's list is, for each of its rosters, its number then each member with its topic and the number of its join.
/// Strings are UTF-8 after their length, as <see cref="BinaryWriter"/> writes them.
/// </summary>
internal static class PresenceEncoding
{
    /// <summary>The payload of a join.</summary>
    public static byte[] Join(long sequence, PresenceMember member)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(sequence);
            WriteDetails(writer, member);
        }

        return buffer.ToArray();
    }

    /// <summary>The payload of a leave.</summary>
    public static byte[] Leave(long sequence) => BitConverter.GetBytes(sequence);

    /// <summary>Reads a join's payload; false when the bytes are not one.</summary>
    public static bool TryReadJoin(byte[] payload, string connectionId, out long sequence, out PresenceMember member)
    {
        sequence = 0;
        member = new PresenceMember(connectionId, null, null);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
            sequence = reader.ReadInt64();
            member = ReadDetails(reader, connectionId);
            return true;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>Reads a leave's payload; false when the bytes are not one.</summary>
    public static bool TryReadLeave(byte[] payload, out long sequence)
    {
        sequence = payload.Length == 8 ? BitConverter.ToInt64(payload) : 0;
        return payload.Length == 8;
    }

    /// <summary>A node's lists of its members, one per roster.</summary>
    public static byte[] Snapshots(params PresenceSnapshot[] snapshots)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(snapshots.Length);
            foreach (var snapshot in snapshots)
            {
                writer.Write(snapshot.Sequence);
                writer.Write(snapshot.Entries.Count);
                foreach (var (topic, member, sequence) in snapshot.Entries)
                {
                    writer.Write(topic);
                    writer.Write(member.ConnectionId);
                    writer.Write(sequence);
                    WriteDetails(writer, member);
                }
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a node's lists; null when the bytes are not them.</summary>
    public static PresenceSnapshot[]? ReadSnapshots(byte[] payload)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload), Encoding.UTF8);
            var count = reader.ReadInt32();
            if (count is < 0 or > 16)
            {
                return null;
            }

            var snapshots = new PresenceSnapshot[count];
            for (var i = 0; i < count; i++)
            {
                var sequence = reader.ReadInt64();
                var entries = reader.ReadInt32();
                if (entries < 0 || entries > payload.Length)
                {
                    return null;
                }

                var list = new List<(string, PresenceMember, long)>(entries);
                for (var n = 0; n < entries; n++)
                {
                    var topic = reader.ReadString();
                    var id = reader.ReadString();
                    var joined = reader.ReadInt64();
                    list.Add((topic, ReadDetails(reader, id), joined));
                }

                snapshots[i] = new PresenceSnapshot(sequence, list);
            }

            return snapshots;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or DecoderFallbackException)
        {
            return null;
        }
    }

    private static void WriteDetails(BinaryWriter writer, PresenceMember member)
    {
        writer.Write(member.UserId is not null);
        writer.Write(member.UserId ?? "");
        writer.Write(member.Info?.Length ?? -1);
        if (member.Info is { } info)
        {
            writer.Write(info);
        }
    }

    private static PresenceMember ReadDetails(BinaryReader reader, string connectionId)
    {
        var hasUser = reader.ReadBoolean();
        var user = reader.ReadString();
        var length = reader.ReadInt32();
        var info = length < 0 ? null : reader.ReadBytes(length);
        if (info is not null && info.Length != length)
        {
            throw new EndOfStreamException();
        }

        return new PresenceMember(connectionId, hasUser ? user : null, info);
    }
}
