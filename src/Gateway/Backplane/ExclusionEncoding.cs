using System.Buffers.Binary;
using System.Text;

namespace Gateway.Backplane;

/// <summary>
/// The connections a fan-out must skip, carried in front of its payload on the all-nodes channel: the length of the
/// list (little-endian), the ids joined by <c>,</c> in UTF-8, then the payload itself.
/// </summary>
internal static class ExclusionEncoding
{
    /// <summary>The payload with <paramref name="exclude"/> in front of it.</summary>
    public static byte[] Wrap(IReadOnlySet<string> exclude, ReadOnlySpan<byte> payload)
    {
        var ids = Encoding.UTF8.GetBytes(string.Join(',', exclude));
        var bytes = new byte[4 + ids.Length + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, ids.Length);
        ids.CopyTo(bytes, 4);
        payload.CopyTo(bytes.AsSpan(4 + ids.Length));
        return bytes;
    }

    /// <summary>Takes a wrapped payload apart; false when the bytes are not one.</summary>
    public static bool TryUnwrap(byte[] bytes, out HashSet<string> exclude, out byte[] payload)
    {
        exclude = [];
        payload = [];
        if (bytes.Length < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (length < 0 || length > bytes.Length - 4)
        {
            return false;
        }

        exclude = new HashSet<string>(Encoding.UTF8.GetString(bytes, 4, length).Split(',', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        payload = bytes[(4 + length)..];
        return true;
    }
}
