using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Gateway.Connections;

/// <summary>
/// The upgraded transport stream under a connection's WebSocket. It lets the writer loop put a ping
/// frame on the wire (the WebSocket API has no call for it), notes when bytes arrive (any inbound byte
/// after a ping proves the peer alive: a pong or data), and records the status of the close frame the
/// server writes, including the ones the protocol layer writes on its own for 1002 and 1007.
/// It runs over the upgraded request's stream, or straight over a connection's transport pipes, where a
/// zero-byte read waits for data without taking any of it, so an idle connection holds no buffer.
/// </summary>
internal sealed class ConnectionStream : Stream
{
    // Server-to-client ping frame: FIN + opcode 0x9, unmasked, empty payload.
    private static readonly byte[] PingFrame = [0x89, 0x00];

    // Whole frames are written by one WriteAsync call each; the lock keeps an injected ping from
    // landing in the middle of a frame the protocol layer writes (pong replies, protocol-error closes).
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Stream? _inner;
    private readonly PipeReader? _input;
    private readonly PipeWriter? _output;
    private volatile bool _disposed;
    private volatile bool _inboundSeen;
    private int _sentCloseStatus;

    /// <summary>Runs over an upgraded request's stream.</summary>
    public ConnectionStream(Stream inner) => _inner = inner;

    /// <summary>Runs over a connection's transport.</summary>
    public ConnectionStream(IDuplexPipe transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _input = transport.Input;
        _output = transport.Output;
    }

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
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_input is null)
        {
            var read = await _inner!.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                _inboundSeen = true;
            }

            return read;
        }

        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken);
            var data = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(data.Start);
                throw new OperationCanceledException("The read was cancelled.");
            }

            if (!data.IsEmpty)
            {
                _inboundSeen = true;
                if (buffer.IsEmpty)
                {
                    // Nothing taken or examined: the next read returns the same bytes at once.
                    _input.AdvanceTo(data.Start);
                    return 0;
                }

                var count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                _input.AdvanceTo(data.GetPosition(count));
                return count;
            }

            if (result.IsCompleted)
            {
                _input.AdvanceTo(data.End);
                return 0;
            }

            _input.AdvanceTo(data.Start, data.End);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        NoteCloseFrame(buffer.Span);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_output is null)
            {
                await _inner!.WriteAsync(buffer, cancellationToken);
            }
            else if (await _output.WriteAsync(buffer, cancellationToken) is { IsCompleted: true } or { IsCanceled: true })
            {
                throw new IOException("The connection is closed.");
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_disposed)
        {
            return;
        }

        if (_output is null)
        {
            await _inner!.FlushAsync(cancellationToken);
        }
        else
        {
            await _output.FlushAsync(cancellationToken);
        }
    }

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
        if (disposing && !_disposed)
        {
            _disposed = true;
            _inner?.Dispose();
            _input?.CancelPendingRead();
            _writeLock.Dispose();
        }

        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() => throw new NotSupportedException("Synchronous flushes are not used.");
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous reads are not used.");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Synchronous writes are not used.");
}
