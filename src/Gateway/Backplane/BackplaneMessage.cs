using System.Buffers.Binary;
using System.Text;

namespace Gateway.Backplane;

/// <summary>
/// One message on a node's channel or the shared one, in a compact binary form: the operation, a correlation id for
/// request and reply, the node it comes from, a target (connection id, user id or topic), a text (an event type, a
/// close reason), a kind byte (text or binary frame, a result) and the payload.
/// </summary>
internal sealed record BackplaneMessage(BackplaneOperation Operation, long Correlation, string Origin, string Target, string Text, byte Kind, byte[] Payload)
{
    /// <summary>
    /// The message's bytes: the operation, the correlation (little-endian), the origin, target and text (each UTF-8
    /// after its length in 7-bit groups, as <see cref="BinaryWriter"/> writes strings), the kind, the payload's length
    /// and the payload. Written into one array of the exact size.
    /// </summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[1 + 8 + Measure(Origin) + Measure(Target) + Measure(Text) + 1 + 4 + Payload.Length];
        var span = bytes.AsSpan();
        span[0] = (byte)Operation;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], Correlation);
        var at = 9;
        at += Write(span[at..], Origin);
        at += Write(span[at..], Target);
        at += Write(span[at..], Text);
        span[at++] = Kind;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], Payload.Length);
        Payload.CopyTo(span[(at + 4)..]);
        return bytes;
    }

    /// <summary>Reads a message; null when the bytes are not one (a foreign publisher on the channel).</summary>
    public static BackplaneMessage? FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return FromBytes(bytes.AsSpan());
    }

    /// <summary>Reads a message; null when the bytes are not one.</summary>
    public static BackplaneMessage? FromBytes(ReadOnlySpan<byte> span)
    {
        if (span.Length < 9)
        {
            return null;
        }

        var operation = (BackplaneOperation)span[0];
        var correlation = BinaryPrimitives.ReadInt64LittleEndian(span[1..]);
        var at = 9;
        if (!TryRead(span, ref at, out var origin) || !TryRead(span, ref at, out var target) || !TryRead(span, ref at, out var text) || span.Length - at < 5)
        {
            return null;
        }

        var kind = span[at++];
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        return length >= 0 && length == span.Length - at
            ? new BackplaneMessage(operation, correlation, origin, target, text, kind, span[at..].ToArray())
            : null;
    }

    private static int Measure(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        var prefix = 1;
        for (var v = (uint)count; v >= 0x80; v >>= 7)
        {
            prefix++;
        }

        return prefix + count;
    }

    private static int Write(Span<byte> destination, string value)
    {
        var i = 0;
        for (var v = (uint)Encoding.UTF8.GetByteCount(value); ; v >>= 7)
        {
            if (v < 0x80)
            {
                destination[i++] = (byte)v;
                break;
            }

            destination[i++] = (byte)(v | 0x80);
        }

        return i + Encoding.UTF8.GetBytes(value, destination[i..]);
    }

    private static bool TryRead(ReadOnlySpan<byte> span, ref int at, out string value)
    {
        value = "";
        var length = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (at >= span.Length || shift > 28)
            {
                return false;
            }

            var b = span[at++];
            length |= (b & 0x7F) << shift;
            if (b < 0x80)
            {
                break;
            }
        }

        if (length < 0 || length > span.Length - at)
        {
            return false;
        }

        try
        {
            value = StrictUtf8.GetString(span.Slice(at, length));
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        at += length;
        return true;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
