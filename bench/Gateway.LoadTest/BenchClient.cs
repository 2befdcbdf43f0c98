using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Gateway.LoadTest;

/// <summary>One load-generating WebSocket client.</summary>
public sealed class BenchClient : IBenchClient
{
    private byte[] _buffer = [];

    private BenchClient(ClientWebSocket socket, string id)
    {
        Socket = socket;
        Id = id;
    }

    /// <summary>
    /// How many loopback source addresses clients connect from (127.0.0.1, 127.0.0.2, …): each address has its own
    /// ~28,000 ephemeral ports, so tens of thousands of connections, and sockets in TIME_WAIT from earlier rounds,
    /// do not run out of them. 1 uses the system's choice.
    /// </summary>
    public static int SourceAddresses { get; set; } = 1;

    /// <summary>
    /// Whether clients open their WebSockets over HTTP/2 (extended CONNECT, h2c with prior knowledge): then they share
    /// one handler, which puts as many sockets on one TCP connection as the server allows and opens another past that.
    /// </summary>
    public static bool Http2 { get; set; }

    private static int _nextSource;
    private static HttpMessageInvoker? _invoker;
    private static HttpMessageInvoker? _http2Invoker;

    private static HttpMessageInvoker? Invoker()
    {
        if (Http2 && SourceAddresses <= 1)
        {
            return LazyInitializer.EnsureInitialized(ref _http2Invoker, () => new HttpMessageInvoker(new SocketsHttpHandler { EnableMultipleHttp2Connections = true }));
        }

        if (SourceAddresses <= 1)
        {
            return null;
        }

        return LazyInitializer.EnsureInitialized(ref _invoker, () => new HttpMessageInvoker(new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var source = System.Net.IPAddress.Parse($"127.0.0.{1 + (Interlocked.Increment(ref _nextSource) % SourceAddresses)}");
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new System.Net.IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        }));
    }

    public ClientWebSocket Socket { get; }

    /// <summary>The id from the server's connected frame, or empty.</summary>
    public string Id { get; }

    public static async Task<BenchClient> ConnectAsync(Uri uri, bool readConnectedFrame)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (Http2)
        {
            socket.Options.HttpVersion = System.Net.HttpVersion.Version20;
            socket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        await socket.ConnectAsync(uri, Invoker(), CancellationToken.None);
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
        if (_buffer.Length == 0)
        {
            // Made at the first receive of a message (idle clients hold none), and grown for larger ones.
            _buffer = new byte[4096];
        }

        do
        {
            if (count == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

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

    /// <summary>Receives messages until cancelled or closed, calling <paramref name="onMessage"/> after each.</summary>
    public async Task CountAsync(Action onMessage, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await ReceiveAsync(cancellationToken);
                onMessage();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
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
