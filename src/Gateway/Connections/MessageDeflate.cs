using System.Buffers;
using System.Collections.Concurrent;

namespace Gateway.Connections;

/// <summary>
/// A raw deflate compressor for whole messages (RFC 7692): each message ends with a flush whose closing
/// <c>00 00 FF FF</c> is left off. Without context takeover the flush also forgets the history, so the next message
/// refers to nothing before it and the compressor can go back to a pool and serve another connection.
/// </summary>
internal sealed class MessageDeflater : IDisposable
{
    private static readonly ConcurrentQueue<MessageDeflater>[] Pools = [.. Enumerable.Range(0, 16).Select(_ => new ConcurrentQueue<MessageDeflater>())];
    private static readonly int MaxPooled = Environment.ProcessorCount * 2;
    private static readonly int[] PoolCounts = new int[16];

    private Zlib.Stream _stream;
    private bool _ended;

    private MessageDeflater(int windowBits)
    {
        WindowBits = windowBits;
        Zlib.StartDeflate(ref _stream, windowBits, Zlib.DefaultLevel);
    }

    /// <summary>The window it compresses with (bits).</summary>
    public int WindowBits { get; }

    /// <summary>A compressor that forgets each message, from the pool when one is free.</summary>
    public static MessageDeflater Rent(int windowBits)
    {
        if (Pools[windowBits].TryDequeue(out var pooled))
        {
            Interlocked.Decrement(ref PoolCounts[windowBits]);
            return pooled;
        }

        return new MessageDeflater(windowBits);
    }

    /// <summary>A compressor kept by one connection (server context takeover): never pooled.</summary>
    public static MessageDeflater Create(int windowBits) => new(windowBits);

    /// <summary>Gives a compressor that forgot its last message back to the pool (or frees it when the pool is full).</summary>
    public static void Return(MessageDeflater deflater)
    {
        if (Interlocked.Increment(ref PoolCounts[deflater.WindowBits]) <= MaxPooled)
        {
            Pools[deflater.WindowBits].Enqueue(deflater);
            return;
        }

        Interlocked.Decrement(ref PoolCounts[deflater.WindowBits]);
        deflater.Dispose();
    }

    /// <summary>
    /// Compresses <paramref name="payload"/> into a frame: <paramref name="reserve"/> bytes left free at its start (for
    /// the frame head), then the compressed message. Returns a rented array and the compressed length.
    /// </summary>
    public unsafe (byte[] Buffer, int Length) Compress(ReadOnlySpan<byte> payload, int reserve, bool forget)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        var buffer = ArrayPool<byte>.Shared.Rent(reserve + payload.Length + (payload.Length >> 10) + 64);
        var written = 0;
        try
        {
            fixed (byte* input = payload)
            {
                _stream.NextIn = (nint)input;
                _stream.AvailIn = (uint)payload.Length;
                while (true)
                {
                    if (buffer.Length - reserve - written < 16)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, reserve + written).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    var space = buffer.Length - reserve - written;
                    int result;
                    fixed (byte* output = &buffer[reserve + written])
                    {
                        _stream.NextOut = (nint)output;
                        _stream.AvailOut = (uint)space;
                        result = Zlib.Deflate(ref _stream, forget ? Zlib.FullFlush : Zlib.SyncFlush);
                    }

                    written += space - (int)_stream.AvailOut;
                    if (result is not (Zlib.Ok or Zlib.BufError))
                    {
                        throw new InvalidOperationException($"zlib failed to compress a message ({result}).");
                    }

                    if (_stream.AvailIn == 0 && _stream.AvailOut != 0)
                    {
                        break;
                    }
                }
            }

            _stream.NextIn = 0;
            _stream.NextOut = 0;

            // The flush ends with an empty stored block, 00 00 FF FF, which the receiver adds back (RFC 7692 §7.2.1).
            return (buffer, written - 4);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public void Dispose()
    {
        if (!_ended)
        {
            _ended = true;
            Zlib.DeflateEnd(ref _stream);
        }

        GC.SuppressFinalize(this);
    }

    ~MessageDeflater()
    {
        if (!_ended)
        {
            Zlib.DeflateEnd(ref _stream);
        }
    }
}

/// <summary>
/// A raw inflater for messages (RFC 7692), a piece at a time into a bounded buffer, so a message that inflates past
/// the limit is stopped there without inflating the rest. Reset between messages without context takeover, and
/// pooled then.
/// </summary>
internal sealed class MessageInflater : IDisposable
{
    private static readonly ConcurrentQueue<MessageInflater> Pool = new();
    private static readonly int MaxPooled = Environment.ProcessorCount * 2;
    private static int s_pooled;

    private Zlib.Stream _stream;
    private bool _ended;

    private MessageInflater() => Zlib.StartInflate(ref _stream);

    /// <summary>What one call did.</summary>
    public enum Outcome
    {
        /// <summary>Went on as far as the input or the output allowed.</summary>
        Progress,

        /// <summary>The deflate stream ended (a final block).</summary>
        End,

        /// <summary>The input is not deflate data.</summary>
        Corrupt,
    }

    /// <summary>An inflater from the pool, or a new one.</summary>
    public static MessageInflater Rent()
    {
        if (Pool.TryDequeue(out var pooled))
        {
            Interlocked.Decrement(ref s_pooled);
            return pooled;
        }

        return new MessageInflater();
    }

    /// <summary>An inflater kept by one connection (client context takeover): never pooled.</summary>
    public static MessageInflater Create() => new();

    /// <summary>Forgets the message it inflated and goes back to the pool (or is freed when the pool is full).</summary>
    public static void Return(MessageInflater inflater)
    {
        if (inflater._ended || Zlib.InflateReset(ref inflater._stream, -15) != Zlib.Ok)
        {
            inflater.Dispose();
            return;
        }

        if (Interlocked.Increment(ref s_pooled) <= MaxPooled)
        {
            Pool.Enqueue(inflater);
            return;
        }

        Interlocked.Decrement(ref s_pooled);
        inflater.Dispose();
    }

    /// <summary>Starts again after a deflate stream ended, keeping nothing (a kept inflater whose client ended its stream).</summary>
    public void Restart()
    {
        if (Zlib.InflateReset(ref _stream, -15) != Zlib.Ok)
        {
            throw new InvalidOperationException("zlib could not reset a decompressor.");
        }
    }

    /// <summary>Inflates from <paramref name="input"/> into <paramref name="output"/>; says how much of each it used.</summary>
    public unsafe Outcome Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int produced)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        int result;
        fixed (byte* from = input)
        fixed (byte* to = output)
        {
            _stream.NextIn = (nint)from;
            _stream.AvailIn = (uint)input.Length;
            _stream.NextOut = (nint)to;
            _stream.AvailOut = (uint)output.Length;
            result = Zlib.Inflate(ref _stream, Zlib.SyncFlush);
            consumed = input.Length - (int)_stream.AvailIn;
            produced = output.Length - (int)_stream.AvailOut;
            _stream.NextIn = 0;
            _stream.NextOut = 0;
        }

        return result switch
        {
            Zlib.Ok or Zlib.BufError => Outcome.Progress,
            Zlib.StreamEnd => Outcome.End,
            _ => Outcome.Corrupt,
        };
    }

    public void Dispose()
    {
        if (!_ended)
        {
            _ended = true;
            Zlib.InflateEnd(ref _stream);
        }

        GC.SuppressFinalize(this);
    }

    ~MessageInflater()
    {
        if (!_ended)
        {
            Zlib.InflateEnd(ref _stream);
        }
    }
}
