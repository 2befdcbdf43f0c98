using System.Buffers.Binary;
using System.Text;

namespace Gateway.Backplane;

/// <summary>
/// The request of <see cref="BackplaneOperation.Resume"/>: the token's number (4 bytes), the client's received count
/// (8 bytes, -1 when it gave none), then the user id in UTF-8 (absent for an anonymous session, after a 0 flag byte).
/// </summary>
internal static class SessionHandoverEncoding
{
    public static byte[] Request(uint generation, long? received, string? userId)
    {
        var user = userId is null ? [] : Encoding.UTF8.GetBytes(userId);
        var bytes = new byte[13 + user.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, generation);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(4), received ?? -1);
        bytes[12] = (byte)(userId is null ? 0 : 1);
        user.CopyTo(bytes, 13);
        return bytes;
    }

    public static bool TryReadRequest(ReadOnlySpan<byte> bytes, out uint generation, out long? received, out string? userId)
    {
        generation = 0;
        received = null;
        userId = null;
        if (bytes.Length < 13 || bytes[12] > 1)
        {
            return false;
        }

        generation = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        var count = BinaryPrimitives.ReadInt64BigEndian(bytes[4..]);
        received = count < 0 ? null : count;
        userId = bytes[12] == 1 ? Encoding.UTF8.GetString(bytes[13..]) : null;
        return true;
    }
}
