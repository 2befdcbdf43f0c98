using System.Buffers;
using System.Runtime.InteropServices;

namespace Gateway.Connections;

/// <summary>
/// A message many connections receive (a topic event, a broadcast), framed once: its bytes are kept behind a WebSocket
/// frame head, so every socket writes the same finished frame without framing it again, and, for sockets that
/// negotiated compression, the same compressed frame, made by the first socket that needs it. The message's payload
/// is this object's memory, so an <see cref="OutboundMessage"/> carries it without a field of its own (a connection's
/// send queue keeps one message inline; a field more would cost every idle connection).
/// </summary>
internal sealed class SharedFrame : MemoryManager<byte>
{
    private readonly byte[] _frame;
    private readonly int _headLength;

    // Compressed frames, one per set of compressor parameters that produced one (usually a single one).
    private CompressedFrame? _compressed;

    private SharedFrame(byte[] frame, int headLength)
    {
        _frame = frame;
        _headLength = headLength;
    }

    /// <summary>A message framed once for all its receivers.</summary>
    public static OutboundMessage Create(ReadOnlySpan<byte> payload, OutboundKind kind)
    {
        var opcode = kind == OutboundKind.Binary ? WebSocketFraming.Binary : WebSocketFraming.Text;
        var headLength = WebSocketFraming.HeadLength(payload.Length);
        var frame = new byte[headLength + payload.Length];
        WebSocketFraming.WriteHead(frame, opcode, fin: true, compressed: false, payload.Length);
        payload.CopyTo(frame.AsSpan(headLength));
        return new OutboundMessage(new SharedFrame(frame, headLength).Memory, kind);
    }

    /// <summary>
    /// <paramref name="message"/> framed once for the many connections it is about to be queued to (as it is when it is
    /// framed already, or a ping).
    /// </summary>
    public static OutboundMessage Share(OutboundMessage message) =>
        message.Kind == OutboundKind.Ping || Of(message) is not null ? message : Create(message.Payload.Span, message.Kind);

    /// <summary>The shared frame a message's payload is the whole of, or null when it was not framed ahead.</summary>
    public static SharedFrame? Of(in OutboundMessage message) =>
        MemoryMarshal.TryGetMemoryManager<byte, SharedFrame>(message.Payload, out var shared, out var start, out var length) &&
        start == 0 && length == shared._frame.Length - shared._headLength ? shared : null;

    /// <summary>The whole frame: head and payload.</summary>
    public ReadOnlyMemory<byte> Frame => _frame;

    /// <summary>The payload alone.</summary>
    public ReadOnlySpan<byte> Payload => _frame.AsSpan(_headLength);

    /// <summary>
    /// The compressed frame for compressors with <paramref name="key"/> (their parameters), made by <paramref name="compress"/>
    /// the first time it is asked for: the receivers that share the parameters share the one frame.
    /// </summary>
    public ReadOnlyMemory<byte> Compressed<TState>(int key, TState state, Func<TState, ReadOnlyMemory<byte>, byte[]> compress)
    {
        for (var c = Volatile.Read(ref _compressed); c is not null; c = c.Next)
        {
            if (c.Key == key)
            {
                return c.Frame;
            }
        }

        // One compression per key even when several writer loops ask at once: they wait for the first.
        lock (_frame)
        {
            for (var c = _compressed; c is not null; c = c.Next)
            {
                if (c.Key == key)
                {
                    return c.Frame;
                }
            }

            var made = new CompressedFrame(key, compress(state, _frame.AsMemory(_headLength)), _compressed);
            Volatile.Write(ref _compressed, made);
            return made.Frame;
        }
    }

    public override Span<byte> GetSpan() => _frame.AsSpan(_headLength);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        var handle = GCHandle.Alloc(_frame, GCHandleType.Pinned);
        unsafe
        {
            return new MemoryHandle((byte*)handle.AddrOfPinnedObject() + _headLength + elementIndex, handle);
        }
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed record CompressedFrame(int Key, byte[] Frame, CompressedFrame? Next);
}
