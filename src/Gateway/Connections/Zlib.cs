using System.Runtime.InteropServices;

namespace Gateway.Connections;

/// <summary>
/// Raw deflate streams through the runtime's own zlib (the <c>System.IO.Compression.Native</c> library that
/// <see cref="System.IO.Compression.DeflateStream"/> and the runtime's WebSocket compression use), called directly for
/// what the streams do not offer: a window of fewer than 15 bits, a flush that forgets the history (so one compressor
/// serves message after message without being made again), and inflating a little at a time into a bounded buffer.
/// </summary>
internal static partial class Zlib
{
    // Found as libSystem.IO.Compression.Native.so on Linux (the lib prefix is tried) and System.IO.Compression.Native.dll on Windows.
    private const string Library = "System.IO.Compression.Native";

    public const int Ok = 0, StreamEnd = 1, BufError = -5;
    public const int NoFlush = 0, SyncFlush = 2, FullFlush = 3;
    private const int Deflated = 8, DefaultMemLevel = 8, DefaultStrategy = 0;

    /// <summary>zlib's default level (6).</summary>
    public const int DefaultLevel = -1;

    /// <summary>
    /// The runtime's <c>PAL_ZStream</c> (src/native/libs/System.IO.Compression.Native/pal_zlib.h): the native side keeps
    /// the real <c>z_stream</c> behind <see cref="InternalState"/> and copies these fields in and out on every call, so
    /// the struct itself may move between calls.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Stream
    {
        public nint NextIn;
        public nint NextOut;
        public nint Message;
        public nint InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateInit2_")]
    public static partial int DeflateInit(ref Stream stream, int level, int method, int windowBits, int memLevel, int strategy);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Deflate")]
    public static partial int Deflate(ref Stream stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateEnd")]
    public static partial int DeflateEnd(ref Stream stream);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
    public static partial int InflateInit(ref Stream stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
    public static partial int Inflate(ref Stream stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateReset2_")]
    public static partial int InflateReset(ref Stream stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
    public static partial int InflateEnd(ref Stream stream);

    /// <summary>Starts a raw deflate compressor (negative window bits: no zlib header) with a window of 2^<paramref name="windowBits"/>.</summary>
    public static void StartDeflate(ref Stream stream, int windowBits, int level)
    {
        var result = DeflateInit(ref stream, level, Deflated, -windowBits, DefaultMemLevel, DefaultStrategy);
        if (result != Ok)
        {
            throw new InvalidOperationException($"zlib could not start a compressor ({result}).");
        }
    }

    /// <summary>Starts a raw inflater that takes any window up to 15 bits.</summary>
    public static void StartInflate(ref Stream stream)
    {
        var result = InflateInit(ref stream, -15);
        if (result != Ok)
        {
            throw new InvalidOperationException($"zlib could not start a decompressor ({result}).");
        }
    }
}
