using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Tests.Infrastructure;

public sealed record RawFrame(int Opcode, bool Fin, byte[] Payload)
{
    public int CloseStatus => Opcode == 8 && Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : 0;
}

/// <summary>A WebSocket client on a bare TCP socket: it can stay silent, read nothing, and send frames no library would.</summary>
public sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public string Id { get; private set; } = "";

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint, string path, int receiveBufferSize = 0, IDictionary<string, string>? headers = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = receiveBufferSize;
        }

        await socket.ConnectAsync(endPoint).WithTimeout();
        var client = new RawClient(socket);
        var (status, _) = await client.HandshakeAsync(endPoint, path, headers);
        if (status != 101)
        {
            throw new InvalidOperationException($"handshake answered {status}");
        }

        return client;
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
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await _stream.ReadAsync(one).AsTask().WithTimeout() == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        var text = head.ToString();
        var status = text.Length > 12 ? int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : 0;
        return (status, text);
    }

    public Task WriteAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask().WithTimeout();

    /// <summary>A client frame: masked unless told otherwise; <paramref name="firstByte"/> overrides FIN/RSV/opcode.</summary>
    public static byte[] BuildFrame(int opcode, byte[] payload, bool fin = true, bool masked = true, int? firstByte = null, long? declaredLength = null)
    {
        var frame = new List<byte> { (byte)(firstByte ?? ((fin ? 0x80 : 0) | opcode)) };
        var length = declaredLength ?? payload.Length;
        var maskBit = masked ? 0x80 : 0;
        if (length < 126)
        {
            frame.Add((byte)(maskBit | (int)length));
        }
        else if (length <= ushort.MaxValue)
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

        var mask = masked ? RandomNumberGenerator.GetBytes(4) : [];
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
        await _stream.ReadExactlyAsync(head, cts.Token);
        long length = head[1] & 0x7F;
        if (length == 126)
        {
            var ext = new byte[2];
            await _stream.ReadExactlyAsync(ext, cts.Token);
            length = BinaryPrimitives.ReadUInt16BigEndian(ext);
        }
        else if (length == 127)
        {
            var ext = new byte[8];
            await _stream.ReadExactlyAsync(ext, cts.Token);
            length = BinaryPrimitives.ReadInt64BigEndian(ext);
        }

        var payload = new byte[length];
        await _stream.ReadExactlyAsync(payload, cts.Token);
        return new RawFrame(head[0] & 0x0F, (head[0] & 0x80) != 0, payload);
    }

    /// <summary>Reads frames until a close frame and returns it (status 0 when the socket ended without one).</summary>
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
            return new RawFrame(8, true, []);
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
