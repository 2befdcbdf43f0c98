using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Gateway.LoadTest;

/// <summary>One load-generating WebSocket client.</summary>
public sealed class BenchClient : IDisposable
{
    private readonly byte[] _buffer = new byte[256 * 1024];

    private BenchClient(ClientWebSocket socket, string id)
    {
        Socket = socket;
        Id = id;
    }

    public ClientWebSocket Socket { get; }

    /// <summary>The id from the server's connected frame, or empty.</summary>
    public string Id { get; }

    public static async Task<BenchClient> ConnectAsync(Uri uri, bool readConnectedFrame)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(uri, CancellationToken.None);
        var id = "";
        if (readConnectedFrame)
        {
            var buffer = new byte[512];
            var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            using var doc = JsonDocument.Parse(buffer.AsMemory(0, result.Count));
            id = doc.RootElement.GetProperty("connectionId").GetString() ?? "";
        }

        return new BenchClient(socket, id);
    }

    /// <summary>Connects <paramref name="count"/> clients, <paramref name="parallel"/> at a time.</summary>
    public static async Task<BenchClient[]> ConnectManyAsync(Uri uri, int count, bool readConnectedFrame, int parallel = 64)
    {
        var clients = new BenchClient[count];
        var next = -1;
        var workers = Enumerable.Range(0, Math.Min(parallel, count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                clients[i] = await ConnectAsync(uri, readConnectedFrame);
            }
        });
        await Task.WhenAll(workers);
        return clients;
    }

    /// <summary>Receives one whole message; its bytes stay valid until the next receive.</summary>
    public async Task<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(_buffer.AsMemory(count), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException("closed by the server: " + Socket.CloseStatus);
            }

            count += result.Count;
        }
        while (!result.EndOfMessage);
        return _buffer.AsMemory(0, count);
    }

    public ValueTask SendTextAsync(ReadOnlyMemory<byte> utf8) => Socket.SendAsync(utf8, WebSocketMessageType.Text, true, CancellationToken.None);

    public static byte[] Payload(int size)
    {
        // JSON with an action no route has: the gateway reads it, finds no route, and uses $default.
        var head = "{\"action\":\"bench\",\"pad\":\"";
        var pad = Math.Max(0, size - head.Length - 2);
        return Encoding.UTF8.GetBytes(head + new string('x', pad) + "\"}");
    }

    public void Dispose()
    {
        Socket.Abort();
        Socket.Dispose();
    }
}
