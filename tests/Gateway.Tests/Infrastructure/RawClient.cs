using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Tests.Infrastructure;

public sealed record RawFrame(int Opcode, bool Fin, byte[] Payload)
{
    /// <summary>The opcode <see cref="RawClient.ReadUntilCloseAsync"/> reports when the socket ended without a close frame.</summary>
    public const int Dropped = -1;

    /// <summary>The frame's first byte as it came: FIN, RSV1–3 and the opcode.</summary>
    public int FirstByte { get; init; }

    public int CloseStatus => Opcode == 8 && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : 0;
}

/// <summary>A WebSocket client on a bare TCP socket: it can stay silent, read nothing, and send frames no library would.</summary>
public sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    // Bytes read from the socket but not consumed yet: a response head and the first frames often share a segment.
    private readonly byte[] _readBuffer = new byte[16 * 1024];
    private int _readStart;
    private int _readEnd;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public string Id { get; private set; } = "";

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint, string path, int receiveBufferSize = 0, IDictionary<string, string>? headers = null)
    {
        var client = await OpenAsync(endPoint, receiveBufferSize);
        var (status, _) = await client.HandshakeAsync(endPoint, path, headers);
        if (status != 101)
        {
            await client.DisposeAsync();
            throw new InvalidOperationException($"handshake answered {status}");
        }

        return client;
    }

    /// <summary>Opens a TCP connection and sends nothing: the caller writes whatever bytes it likes, a request or not.</summary>
    public static async Task<RawClient> OpenAsync(IPEndPoint endPoint, int receiveBufferSize = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (receiveBufferSize > 0)
            {
                socket.ReceiveBufferSize = receiveBufferSize;
            }

            await socket.ConnectAsync(endPoint).WithTimeout();
            return new RawClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the opening handshake and reads the response head; returns its status and raw head.</summary>
    public async Task<(int Status, string Head)> HandshakeAsync(IPEndPoint endPoint, string path, IDictionary<string, string>? headers = null)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = new StringBuilder()
            .Append($"GET {path} HTTP/1.1\r\nHost: {endPoint}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
            .Append($"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Append($"{name}: {value}\r\n");
        }

        await WriteAsync(Encoding.ASCII.GetBytes(request.Append("\r\n").ToString()));
        return await ReadResponseHeadAsync();
    }

    /// <summary>
    /// Reads an HTTP response head, up to and including the blank line, and returns its status (0 when the
    /// connection ended before a whole status line) and the head as text. Bytes after it stay for the next read.
    /// </summary>
    public async Task<(int Status, string Head)> ReadResponseHeadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait.Default);
        var head = new StringBuilder();
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (_readStart == _readEnd && !await FillAsync(cts.Token))
            {
                break;
            }

            head.Append((char)_readBuffer[_readStart++]);
        }

        var text = head.ToString();
        var status = text.Length > 12 && int.TryParse(text.AsSpan(9, 3), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 0;
        return (status, text);
    }

    /// <summary>
    /// Reads and discards until the server ends the connection; true when it did (a reset counts) within
    /// <paramref name="timeout"/>, false when it was still open then.
    /// </summary>
    public async Task<bool> ReadToEndAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait.Default);
        try
        {
            _readStart = _readEnd;
            while (await FillAsync(cts.Token))
            {
                _readStart = _readEnd;
            }

            return true;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Half-closes the connection: the server reads the end of the stream, and can still answer.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    // Reads more bytes into the buffer; false at the end of the stream.
    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_readStart == _readEnd)
        {
            _readStart = _readEnd = 0;
        }

        var read = await _stream.ReadAsync(_readBuffer.AsMemory(_readEnd), cancellationToken);
        _readEnd += read;
        return read > 0;
    }

    private async Task ReadExactlyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (destination.Length > 0)
        {
            if (_readStart == _readEnd && !await FillAsync(cancellationToken))
            {
                throw new EndOfStreamException();
            }

            var n = Math.Min(destination.Length, _readEnd - _readStart);
            _readBuffer.AsMemory(_readStart, n).CopyTo(destination);
            _readStart += n;
            destination = destination[n..];
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (a response body, say) as ASCII text.</summary>
    public async Task<string> ReadTextAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait.Default);
        var bytes = new byte[count];
        await ReadExactlyAsync(bytes, cts.Token);
        return Encoding.ASCII.GetString(bytes);
    }

    public Task WriteAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask().WithTimeout();

    /// <summary>
    /// A client frame: masked (with <paramref name="mask"/>, or a random key) unless told otherwise; <paramref name="firstByte"/>
    /// overrides FIN/RSV/opcode; <paramref name="declaredLength"/> is written in place of the payload's length, in the
    /// 64-bit form when it is negative.
    /// </summary>
    public static byte[] BuildFrame(int opcode, byte[] payload, bool fin = true, bool masked = true, int? firstByte = null, long? declaredLength = null, byte[]? mask = null)
    {
        var frame = new List<byte> { (byte)(firstByte ?? ((fin ? 0x80 : 0) | opcode)) };
        var length = declaredLength ?? payload.Length;
        var maskBit = masked ? 0x80 : 0;
        if (length is >= 0 and < 126)
        {
            frame.Add((byte)(maskBit | (int)length));
        }
        else if (length is >= 0 and <= ushort.MaxValue)
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(length >> 8));
            frame.Add((byte)length);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            for (var i = 7; i >= 0; i--)
            {
                frame.Add((byte)(length >> (8 * i)));
            }
        }

        mask = masked ? mask ?? RandomNumberGenerator.GetBytes(4) : [];
        frame.AddRange(mask);
        for (var i = 0; i < payload.Length; i++)
        {
            frame.Add(masked ? (byte)(payload[i] ^ mask[i % 4]) : payload[i]);
        }

        return [.. frame];
    }

    public Task SendFrameAsync(int opcode, byte[] payload, bool fin = true) => WriteAsync(BuildFrame(opcode, payload, fin));

    public Task SendTextAsync(string text) => SendFrameAsync(1, Encoding.UTF8.GetBytes(text));

    /// <summary>Reads one server frame.</summary>
    public async Task<RawFrame> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait.Default);
        var head = new byte[2];
        await ReadExactlyAsync(head, cts.Token);
        long length = head[1] & 0x7F;
        if (length == 126)
        {
            var ext = new byte[2];
            await ReadExactlyAsync(ext, cts.Token);
            length = BinaryPrimitives.ReadUInt16BigEndian(ext);
        }
        else if (length == 127)
        {
            var ext = new byte[8];
            await ReadExactlyAsync(ext, cts.Token);
            length = BinaryPrimitives.ReadInt64BigEndian(ext);
        }

        var payload = new byte[length];
        await ReadExactlyAsync(payload, cts.Token);
        return new RawFrame(head[0] & 0x0F, (head[0] & 0x80) != 0, payload) { FirstByte = head[0] };
    }

    /// <summary>
    /// Reads frames until a close frame and returns it; when the socket ended without one, a frame of opcode
    /// <see cref="RawFrame.Dropped"/> (status 0).
    /// </summary>
    public async Task<RawFrame> ReadUntilCloseAsync(TimeSpan? timeout = null)
    {
        try
        {
            while (true)
            {
                var frame = await ReadFrameAsync(timeout);
                if (frame.Opcode == 8)
                {
                    return frame;
                }
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException)
        {
            return new RawFrame(RawFrame.Dropped, true, []);
        }
    }

    /// <summary>Reads the connected frame and remembers the id.</summary>
    public async Task<string> ReadConnectedAsync()
    {
        var frame = await ReadFrameAsync();
        using var doc = System.Text.Json.JsonDocument.Parse(frame.Payload);
        Id = doc.RootElement.GetProperty("connectionId").GetString()!;
        return Id;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Close(0);
        return _stream.DisposeAsync();
    }
}
