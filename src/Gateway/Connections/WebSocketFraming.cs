using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;

namespace Gateway.Connections;

/// <summary>The pieces of RFC 6455 framing the transport and the shared frames both use.</summary>
internal static class WebSocketFraming
{
    /// <summary>Opcodes (RFC 6455 §5.2).</summary>
    public const byte Continuation = 0x0, Text = 0x1, Binary = 0x2, Close = 0x8, Ping = 0x9, Pong = 0xA;

    /// <summary>The longest server frame head: two bytes and a 64-bit length (server frames are never masked).</summary>
    public const int MaxServerHeadLength = 10;

    /// <summary>The most payload a control frame may carry.</summary>
    public const int MaxControlPayload = 125;

    /// <summary>The length of the head of an unmasked frame of <paramref name="payloadLength"/> bytes.</summary>
    public static int HeadLength(long payloadLength) => payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10;

    /// <summary>Writes the head of an unmasked frame (FIN, RSV1 when <paramref name="compressed"/>, opcode, length); returns its length.</summary>
    public static int WriteHead(Span<byte> destination, byte opcode, bool fin, bool compressed, long payloadLength)
    {
        destination[0] = (byte)((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode);
        if (payloadLength < 126)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }

        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }

        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }

    /// <summary>True for a status a peer's close frame may carry (RFC 6455 §7.4): not 1004–1006, 1015, below 1000, 1016–2999 or 5000 and up.</summary>
    public static bool IsValidReceivedCloseStatus(int status) =>
        status is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/>, unmasking it with <paramref name="mask"/> (the key's
    /// four bytes as they arrived, read in memory order) from <paramref name="offset"/> bytes into the payload.
    /// </summary>
    public static void Unmask(ReadOnlySpan<byte> source, Span<byte> destination, uint mask, long offset)
    {
        // The key turned so that its byte for this payload position comes first.
        var shift = (int)(offset & 3) * 8;
        var rotated = BitConverter.IsLittleEndian ? BitOperations.RotateRight(mask, shift) : BitOperations.RotateLeft(mask, shift);
        var wide = ((ulong)rotated << 32) | rotated;
        var i = 0;
        var words = source.Length / 8;
        if (words > 0)
        {
            var from = MemoryMarshal.Cast<byte, ulong>(source[..(words * 8)]);
            var to = MemoryMarshal.Cast<byte, ulong>(destination[..(words * 8)]);
            for (var w = 0; w < from.Length; w++)
            {
                to[w] = from[w] ^ wide;
            }

            i = words * 8;
        }

        Span<byte> key = stackalloc byte[4];
        MemoryMarshal.Write(key, in rotated);
        for (; i < source.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ key[i & 3]);
        }
    }

    /// <summary>The close payload: the status and as much of the reason as fits a control frame, cut at a character boundary.</summary>
    public static int WriteClosePayload(Span<byte> destination, int status, string reason)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)status);
        var room = destination.Slice(2, MaxControlPayload - 2);
        if (string.IsNullOrEmpty(reason))
        {
            return 2;
        }

        Encoding.UTF8.GetEncoder().Convert(reason, room, flush: true, out _, out var written, out _);
        return 2 + written;
    }

    /// <summary>Reads a close frame's reason; false when it is not UTF-8.</summary>
    public static bool TryReadReason(ReadOnlySpan<byte> utf8, out string reason)
    {
        if (!Utf8.IsValid(utf8))
        {
            reason = "";
            return false;
        }

        reason = Encoding.UTF8.GetString(utf8);
        return true;
    }
}

/// <summary>
/// Checks that a text message is UTF-8 while it arrives, a piece at a time: a character split between pieces (or
/// fragments) is judged when its last byte comes, an invalid one as soon as it is seen (overlong forms, surrogates,
/// code points over U+10FFFF), and a message that ends inside a character is refused at its end.
/// </summary>
internal static class Utf8Stream
{
    /// <summary>
    /// Checks <paramref name="text"/>[<paramref name="checkedUpTo"/>..]: true and the index up to which it is proven whole
    /// (a character still missing bytes starts there), or false when it cannot be UTF-8 whatever follows.
    /// </summary>
    public static bool TryAdvance(ReadOnlySpan<byte> text, ref int checkedUpTo)
    {
        var rest = text[checkedUpTo..];
        var tail = IncompleteTail(rest);
        if (!Utf8.IsValid(rest[..^tail]))
        {
            return false;
        }

        if (tail > 0 && Rune.DecodeFromUtf8(rest[^tail..], out _, out _) != OperationStatus.NeedMoreData)
        {
            return false;
        }

        checkedUpTo = text.Length - tail;
        return true;
    }

    /// <summary>True when <paramref name="text"/>[<paramref name="checkedUpTo"/>..] completes the message as valid UTF-8.</summary>
    public static bool IsComplete(ReadOnlySpan<byte> text, int checkedUpTo) => Utf8.IsValid(text[checkedUpTo..]);

    // How many bytes at the end belong to a character whose lead byte promises more than are there (0 when none).
    private static int IncompleteTail(ReadOnlySpan<byte> text)
    {
        for (var back = 1; back <= Math.Min(3, text.Length); back++)
        {
            var b = text[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // a continuation byte: its lead is further back
            }

            var needs = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return needs > back ? back : 0;
        }

        return 0;
    }
}
