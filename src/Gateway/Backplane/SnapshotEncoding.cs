using System.Text;

namespace Gateway.Backplane;

/// <summary>How a connection's description and a change of its attributes travel between nodes (as <see cref="BinaryWriter"/> writes them).</summary>
internal static class SnapshotEncoding
{
    public static byte[] Write(ConnectionSnapshot snapshot)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(snapshot.ConnectionId);
            writer.Write(snapshot.ConnectedAt.UtcTicks);
            writer.Write(snapshot.LastActiveAt.UtcTicks);
            writer.Write(snapshot.SourceIp);
            writer.Write(snapshot.UserAgent is not null);
            writer.Write(snapshot.UserAgent ?? "");
            writer.Write(snapshot.Attributes.Count);
            foreach (var (key, value) in snapshot.Attributes)
            {
                writer.Write(key);
                writer.Write(value);
            }

            // Added later: a reader that stops before these still reads the fields above.
            writer.Write(snapshot.UserId is not null);
            writer.Write(snapshot.UserId ?? "");
            writer.Write(snapshot.AuthMethod);
            var subscriptions = snapshot.Subscriptions ?? [];
            writer.Write(subscriptions.Count);
            foreach (var pattern in subscriptions)
            {
                writer.Write(pattern);
            }

            writer.Write(snapshot.QueuedMessages);
        }

        return buffer.ToArray();
    }

    public static ConnectionSnapshot Read(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var id = reader.ReadString();
        var connectedAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var lastActiveAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var sourceIp = reader.ReadString();
        var hasUserAgent = reader.ReadBoolean();
        var userAgent = reader.ReadString();
        var count = reader.ReadInt32();
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            attributes[reader.ReadString()] = reader.ReadString();
        }

        var snapshot = new ConnectionSnapshot(id, connectedAt, lastActiveAt, sourceIp, hasUserAgent ? userAgent : null, attributes);
        if (reader.BaseStream.Position == reader.BaseStream.Length)
        {
            return snapshot; // from a node that does not write the fields below
        }

        var hasUser = reader.ReadBoolean();
        var userId = reader.ReadString();
        var method = reader.ReadString();
        var patterns = new string[reader.ReadInt32()];
        for (var i = 0; i < patterns.Length; i++)
        {
            patterns[i] = reader.ReadString();
        }

        return snapshot with { UserId = hasUser ? userId : null, AuthMethod = method, Subscriptions = patterns, QueuedMessages = reader.ReadInt32() };
    }

    public static byte[] WriteChanges(IReadOnlyDictionary<string, string?> changes)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(changes.Count);
            foreach (var (key, value) in changes)
            {
                writer.Write(key);
                writer.Write(value is not null);
                writer.Write(value ?? "");
            }
        }

        return buffer.ToArray();
    }

    public static List<KeyValuePair<string, string?>> ReadChanges(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var count = reader.ReadInt32();
        var changes = new List<KeyValuePair<string, string?>>(Math.Min(count, 1024));
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            var has = reader.ReadBoolean();
            var value = reader.ReadString();
            changes.Add(new(key, has ? value : null));
        }

        return changes;
    }
}
