using System.Text;

namespace Gateway.Redis;

/// <summary>What one node asks of another, or of all others.</summary>
internal enum BackplaneOperation : byte
{
    Send = 1,
    Disconnect = 2,
    Get = 3,
    SetAttributes = 4,
    Reply = 5,
    Broadcast = 6,
    User = 7,
    Publish = 8,
    UserConnections = 9,
}

/// <summary>
/// One message on a node's channel or the shared one, in a compact binary form: the operation, a correlation id for
/// request and reply, the node it comes from, a target (connection id, user id or topic), a text (an event type, a
/// close reason), a kind byte (text or binary frame, a result) and the payload.
/// </summary>
internal sealed record BackplaneMessage(BackplaneOperation Operation, long Correlation, string Origin, string Target, string Text, byte Kind, byte[] Payload)
{
    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream(32 + Target.Length + Text.Length + Payload.Length);
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((byte)Operation);
            writer.Write(Correlation);
            writer.Write(Origin);
            writer.Write(Target);
            writer.Write(Text);
            writer.Write(Kind);
            writer.Write(Payload.Length);
            writer.Write(Payload);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a message; null when the bytes are not one (a foreign publisher on the channel).</summary>
    public static BackplaneMessage? FromBytes(byte[] bytes)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
            var operation = (BackplaneOperation)reader.ReadByte();
            var correlation = reader.ReadInt64();
            var origin = reader.ReadString();
            var target = reader.ReadString();
            var text = reader.ReadString();
            var kind = reader.ReadByte();
            var length = reader.ReadInt32();
            var payload = length >= 0 && length <= bytes.Length ? reader.ReadBytes(length) : throw new EndOfStreamException();
            return payload.Length == length ? new BackplaneMessage(operation, correlation, origin, target, text, kind, payload) : null;
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or FormatException or ArgumentException)
        {
            return null;
        }
    }
}
