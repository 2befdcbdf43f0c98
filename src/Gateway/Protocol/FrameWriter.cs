using System.Buffers;
using System.Text.Json;

namespace Gateway.Protocol;

/// <summary>
/// A <see cref="Utf8JsonWriter"/> with <see cref="FrameJson.WriterOptions"/> for writing one frame, and its buffer: both kept
/// per thread, so a frame costs one allocation, its bytes. A ref struct: it cannot live across an await, so it gives its
/// buffer back to the thread it took it from.
/// </summary>
public ref struct FrameWriter
{
    // Kept up to this size; a buffer that grew past it for one large frame is let go rather than held by the thread.
    private const int MaxKeptBytes = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    private ArrayBufferWriter<byte>? _buffer;

    private FrameWriter(ArrayBufferWriter<byte> buffer, Utf8JsonWriter json)
    {
        _buffer = buffer;
        Json = json;
    }

    /// <summary>The writer; write exactly one JSON value.</summary>
    public Utf8JsonWriter Json { get; }

    /// <summary>Takes this thread's writer and buffer; a frame started while another is being written gets new ones.</summary>
    internal static FrameWriter Start()
    {
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
        var json = t_json;
        t_buffer = null;
        t_json = null;
        if (json is null)
        {
            json = new Utf8JsonWriter(buffer, FrameJson.WriterOptions);
        }
        else
        {
            // Also clears whatever an earlier frame that threw midway left in the writer.
            json.Reset(buffer);
        }

        return new FrameWriter(buffer, json);
    }

    /// <summary>The frame's bytes, as written so far.</summary>
    public readonly byte[] ToArray()
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(FrameWriter));
        Json.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Gives the writer and buffer back to this thread.</summary>
    public void Dispose()
    {
        if (_buffer is not { } buffer)
        {
            return;
        }

        _buffer = null;
        buffer.ResetWrittenCount();
        if (buffer.Capacity <= MaxKeptBytes)
        {
            t_buffer = buffer;
            t_json = Json;
        }
    }
}
