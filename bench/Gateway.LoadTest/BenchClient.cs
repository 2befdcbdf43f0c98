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

    /// <summary>Clients offer permessage-deflate (each message compressed on its own both ways); their own sends go uncompressed.</summary>
    public static bool OfferDeflate { get; set; }

    /// <summary>Bytes every client read from and wrote to its socket so far (handshakes included).</summary>
    public static long WireBytesRead => Interlocked.Read(ref s_read);

    /// <inheritdoc cref="WireBytesRead"/>
    public static long WireBytesWritten => Interlocked.Read(ref s_written);

    private static long s_read;
    private static long s_written;

    private static int _nextSource;
    private static HttpMessageInvoker? _invoker;

    private static HttpMessageInvoker? Invoker()
    {
        return LazyInitializer.EnsureInitialized(ref _invoker, () => new HttpMessageInvoker(new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    if (SourceAddresses > 1)
                    {
                        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse($"127.0.0.{1 + (Interlocked.Increment(ref _nextSource) % SourceAddresses)}"), 0));
                    }

                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new CountingStream(new System.Net.Sockets.NetworkStream(socket, ownsSocket: true));
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

        if (OfferDeflate)
        {
            socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions { ClientContextTakeover = false, ServerContextTakeover = false };
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

    // A client's own messages go uncompressed: the figures are about what the server sends.
    public ValueTask SendTextAsync(ReadOnlyMemory<byte> utf8) =>
        Socket.SendAsync(utf8, WebSocketMessageType.Text, WebSocketMessageFlags.EndOfMessage | WebSocketMessageFlags.DisableCompression, CancellationToken.None);

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

    /// <summary>
    /// Messages like a chat or an LLM relay's stream (JSON chunks of 20–200 bytes), or 4 KB JSON documents: a fixed
    /// set, the same every run, that clients send in turn.
    /// </summary>
    public static byte[][] Messages(string kind, int payloadBytes)
    {
        var random = new Random(20);
        string[] words = ["the", "model", "token", "stream", "gateway", "answer", "relay", "chunk", "user", "said", "and", "then", "of", "a", "JSON", "frame"];
        string Words(int count) => string.Join(' ', Enumerable.Range(0, count).Select(_ => words[random.Next(words.Length)]));
        return kind switch
        {
            "chat" => [.. Enumerable.Range(0, 256).Select(i =>
            {
                var text = $$"""{"action":"bench","type":"delta","id":"msg-{{i % 7}}","seq":{{i}},"text":"{{Words(random.Next(1, 28))}}"}""";
                return Encoding.UTF8.GetBytes(text.Length > 200 ? text[..196] + "\"}" : text);
            })],
            "doc" => [.. Enumerable.Range(0, 16).Select(i =>
            {
                var doc = new StringBuilder($$"""{"action":"bench","type":"document","id":"doc-{{i}}","items":[""");
                for (var n = 0; doc.Length < 4000; n++)
                {
                    doc.Append(System.Globalization.CultureInfo.InvariantCulture, $$"""{"n":{{n}},"name":"item {{random.Next(1000)}}","price":{{random.Next(100, 99999) / 100.0}},"tags":["{{words[random.Next(words.Length)]}}","{{words[random.Next(words.Length)]}}"],"note":"{{Words(random.Next(2, 8))}}"},""");
                }

                return Encoding.UTF8.GetBytes(doc.Append("""{"n":-1}]}""").ToString());
            })],
            _ => [Payload(payloadBytes)],
        };
    }

    /// <summary>A client's socket, counting the bytes that go through it.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            Interlocked.Add(ref s_read, read);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Add(ref s_written, buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Interlocked.Add(ref s_read, read);
            return read;
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Interlocked.Add(ref s_written, count);
            inner.Write(buffer, offset, count);
        }

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

