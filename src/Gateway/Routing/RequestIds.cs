using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Gateway.Routing;

/// <summary>Request ids: 16 URL-safe characters, a random per-process prefix and a counter, unique without coordination.</summary>
public static class RequestIds
{
    private static readonly uint Prefix = (uint)RandomNumberGenerator.GetInt32(int.MaxValue);
    private static long _counter;

    /// <summary>Mints the next request id.</summary>
    public static string Next()
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, Prefix);
        BinaryPrimitives.WriteInt64BigEndian(bytes[4..], Interlocked.Increment(ref _counter));
        return Base64Url.EncodeToString(bytes);
    }
}
