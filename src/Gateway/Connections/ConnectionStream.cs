using System.Buffers.Binary;

namespace Gateway.Connections;

/// <summary>
/// The upgraded transport stream under a connection's WebSocket. It lets the writer loop put a ping
/// frame on the wire (the WebSocket API has no call for it), notes when bytes arrive (any inbound byte
/// after a ping proves the peer alive: a pong or data), and records the status of the close frame the
/// server writes, including the ones the protocol layer writes on its own for 1002 and 1007.
/// </summary>
internal sealed class ConnectionStream(Stream inner) : Stream
{
    // Server-to-client ping frame: FIN + opcode 0x9, unmasked, empty payload.
    private static readonly byte[] PingFrame = [0x89, 0x00];

    // Whole frames are written by one WriteAsync call each; the lock keeps an injected ping from
    // landing in the middle of a frame the protocol layer writes (pong replies, protocol-error closes).
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private volatile bool _inboundSeen;
    private int _sentCloseStatus;

    /// <summary>The status of the first close frame written to the client, or 0.</summary>
    public int SentCloseStatus => Volatile.Read(ref _sentCloseStatus);

    /// <summary>True when bytes arrived since <see cref="ResetInbound"/> was last called.</summary>
    public bool InboundSeen => _inboundSeen;

    /// <summary>Starts watching for inbound bytes afresh (called when a ping is queued).</summary>
    public void ResetInbound() => _inboundSeen = false;

    /// <summary>Writes a ping frame between whole frames.</summary>
    public ValueTask WritePingAsync(CancellationToken cancellationToken) => WriteAsync(PingFrame, cancellationToken);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        if (read > 0)
        {
            _inboundSeen = true;
        }

        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        NoteCloseFrame(buffer.Span);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    private void NoteCloseFrame(ReadOnlySpan<byte> frame)
    {
        // Server frames are unmasked and close payloads are under 126 bytes: [0x88, len, status(2), reason...].
        if (frame.Length >= 4 && frame[0] == 0x88 && (frame[1] & 0x7F) >= 2)
        {
            Interlocked.CompareExchange(ref _sentCloseStatus, BinaryPrimitives.ReadUInt16BigEndian(frame[2..]), 0);
        }
        else if (frame.Length >= 2 && frame[0] == 0x88)
        {
            Interlocked.CompareExchange(ref _sentCloseStatus, CloseCodes.NoStatus, 0);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _writeLock.Dispose();
        }

        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous reads are not used.");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous writes are not used.");
}
