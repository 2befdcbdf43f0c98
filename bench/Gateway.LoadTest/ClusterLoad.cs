using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>
/// A load process of the cluster benchmark (<c>cluster-hold</c>): it holds one share of the connections on one node,
/// over bare TCP sockets with a hand-made handshake and hand-made frames (no <c>ClientWebSocket</c>: a socket, a
/// 256-byte buffer and one pending receive per connection), answers the server's pings, and counts what every
/// connection receives by kind, so that a lost or doubled delivery is seen per client.
/// <para>
/// It talks to the parent over its standard input and output, one line each way:
/// <c>subscribe</c> → every connection subscribes to <c>bench.all</c> and to <c>bench.{i % topics}.*</c>, answered
/// <c>subscribed &lt;failures&gt;</c>; <c>wait &lt;kind&gt; &lt;expected&gt; &lt;timeout ms&gt;</c> → answered when every connection
/// has <c>expected</c> messages of that kind (or at the timeout) with
/// <c>&lt;received&gt; &lt;short&gt; &lt;over&gt; &lt;last delivery timestamp&gt; &lt;ms:connections,…&gt;</c> (timestamps are
/// <see cref="Stopwatch.GetTimestamp"/>, the system's monotonic clock, which every process on the machine shares; the last
/// field is a histogram of each connection's latest delivery of that kind, from the send time in its <c>"data"</c>). End of input: close everything and exit.
/// </para>
/// </summary>
public static class ClusterLoad
{
    /// <summary>The kinds of message counted: the broadcast's body, the one-topic event, the wildcard events, subscription answers, anything else.</summary>
    public static readonly string[] Kinds = ["bc", "one", "wild", "subscribed", "other"];

    private const int Other = 4;
    private const int Subscribed = 3;

    // Linux's IP_BIND_ADDRESS_NO_PORT (level SOL_IP): a socket bound to a source address gets its port at connect
    // time, unique per destination, so one source address serves ~28,000 connections to each node, not in all.
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24;

    private static readonly byte[][] KindPatterns = [.. Kinds.Take(Other).Select(k => Encoding.ASCII.GetBytes($"\"type\":\"{k}\""))];

    /// <summary><c>cluster-hold &lt;ws url&gt; &lt;count&gt; &lt;first index&gt; &lt;topics&gt; &lt;source addresses, comma-separated&gt;</c>.</summary>
    public static async Task<int> RunAsync(string url, int count, int firstIndex, int topics, string[] sources)
    {
        var uri = new Uri(url);
        var endPoint = new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
        var handshake = Encoding.ASCII.GetBytes(
            $"GET / HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        var addresses = sources.Select(IPAddress.Parse).ToArray();
        var connections = new Connection[count];
        var counts = new int[count * Kinds.Length];

        // Each connection's latest delivery of each kind: now less the send time the message carries ("data":<timestamp>).
        var latencies = new long[count * Kinds.Length];
        var totals = new long[Kinds.Length];
        var last = new long[Kinds.Length];
        var failures = 0;
        var next = -1;
        var workers = Enumerable.Range(0, Math.Min(32, count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        connections[i] = await Connection.OpenAsync(endPoint, addresses[i % addresses.Length], handshake);
                        break;
                    }
                    catch (Exception ex) when (ex is SocketException or IOException or InvalidOperationException or OperationCanceledException && attempt < 3)
                    {
                        Interlocked.Increment(ref failures);
                        await Task.Delay(200 * attempt);
                    }
                }
            }
        });
        await Task.WhenAll(workers);

        var receivers = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var index = i;
            receivers[i] = connections[i].ReceiveAsync((opcode, payload) =>
            {
                if (opcode != 1)
                {
                    return;
                }

                var kind = Other;
                for (var k = 0; k < KindPatterns.Length; k++)
                {
                    if (payload.IndexOf(KindPatterns[k]) >= 0)
                    {
                        kind = k;
                        break;
                    }
                }

                // One receive loop per connection: its counters have one writer.
                var now = Stopwatch.GetTimestamp();
                var at = payload.IndexOf("\"data\":"u8);
                if (at >= 0 && System.Buffers.Text.Utf8Parser.TryParse(payload[(at + 7)..], out long sentAt, out _))
                {
                    latencies[(index * Kinds.Length) + kind] = now - sentAt;
                }

                counts[(index * Kinds.Length) + kind]++;
                Interlocked.Increment(ref totals[kind]);
                long seen;
                while ((seen = Volatile.Read(ref last[kind])) < now && Interlocked.CompareExchange(ref last[kind], now, seen) != seen)
                {
                }
            });
        }

        Console.WriteLine($"connected {failures}");
        string? line;
        while ((line = await Console.In.ReadLineAsync()) is not null)
        {
            var words = line.Split(' ');
            if (words[0] == "subscribe")
            {
                var sendFailures = 0;
                for (var i = 0; i < count; i++)
                {
                    var index = firstIndex + i;
                    try
                    {
                        await connections[i].SendTextAsync(Encoding.ASCII.GetBytes("{\"action\":\"subscribe\",\"channel\":\"bench.all\"}"));
                        await connections[i].SendTextAsync(Encoding.ASCII.GetBytes($"{{\"action\":\"subscribe\",\"channel\":\"bench.{(index % topics).ToString(CultureInfo.InvariantCulture)}.*\"}}"));
                    }
                    catch (SocketException)
                    {
                        sendFailures++;
                    }
                }

                var (_, shortOf, _) = await WaitAsync(counts, count, Subscribed, 2, TimeSpan.FromSeconds(60));
                Console.WriteLine($"subscribed {sendFailures + shortOf} {Volatile.Read(ref totals[Other])}");
            }
            else if (words[0] == "wait")
            {
                var kind = Array.IndexOf(Kinds, words[1]);
                var expected = int.Parse(words[2], CultureInfo.InvariantCulture);
                var (received, shortOf, over) = await WaitAsync(counts, count, kind, expected, TimeSpan.FromMilliseconds(int.Parse(words[3], CultureInfo.InvariantCulture)));
                // The latencies of this round, in a histogram of whole milliseconds ("ms:connections,…").
                var histogram = new SortedDictionary<long, int>();
                for (var i = 0; i < count; i++)
                {
                    var ms = Volatile.Read(ref latencies[(i * Kinds.Length) + kind]) * 1000 / Stopwatch.Frequency;
                    histogram[ms] = histogram.GetValueOrDefault(ms) + 1;
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{received} {shortOf} {over} {Volatile.Read(ref last[kind])} {string.Join(',', histogram.Select(b => $"{b.Key}:{b.Value}"))}"));
            }
        }

        foreach (var connection in connections)
        {
            connection.Dispose();
        }

        await Task.WhenAll(receivers);
        return 0;
    }

    /// <summary>Waits until every connection has <paramref name="expected"/> messages of a kind; how many came, and how many connections have fewer or more.</summary>
    private static async Task<(long Received, int Short, int Over)> WaitAsync(int[] counts, int count, int kind, int expected, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            long received = 0;
            int shortOf = 0, over = 0;
            for (var i = 0; i < count; i++)
            {
                var c = Volatile.Read(ref counts[(i * Kinds.Length) + kind]);
                received += c;
                shortOf += c < expected ? 1 : 0;
                over += c > expected ? 1 : 0;
            }

            if (shortOf == 0 || Stopwatch.GetTimestamp() > deadline)
            {
                // A moment more, so that a doubled delivery right behind the last one is seen too.
                await Task.Delay(shortOf == 0 ? 200 : 0);
                over = 0;
                received = 0;
                for (var i = 0; i < count; i++)
                {
                    var c = Volatile.Read(ref counts[(i * Kinds.Length) + kind]);
                    received += c;
                    over += c > expected ? 1 : 0;
                }

                return (received, shortOf, over);
            }

            await Task.Delay(5);
        }
    }

    /// <summary>One WebSocket on a bare socket.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly Socket _socket;
        private byte[] _buffer = new byte[256];
        private int _have;

        private Connection(Socket socket) => _socket = socket;

        public static async Task<Connection> OpenAsync(IPEndPoint endPoint, IPAddress source, byte[] handshake)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var connection = new Connection(socket);
            try
            {
                if (!IPAddress.Loopback.Equals(source))
                {
                    socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
                    socket.Bind(new IPEndPoint(source, 0));
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await socket.ConnectAsync(endPoint, timeout.Token);
                await socket.SendAsync(handshake, SocketFlags.None, timeout.Token);

                // The response head; the first frames may follow it in the same segment.
                int end;
                while ((end = connection._buffer.AsSpan(0, connection._have).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    connection.Grow();
                    var read = await socket.ReceiveAsync(connection._buffer.AsMemory(connection._have), SocketFlags.None, timeout.Token);
                    if (read == 0)
                    {
                        throw new IOException("closed during the handshake");
                    }

                    connection._have += read;
                }

                if (!connection._buffer.AsSpan().StartsWith("HTTP/1.1 101"u8))
                {
                    throw new InvalidOperationException("handshake answered " + Encoding.ASCII.GetString(connection._buffer, 0, Math.Min(12, end)));
                }

                connection.Consume(end + 4);

                // The connected frame: the connection is registered on the node.
                while (connection.NextFrame() is not { Opcode: 1 })
                {
                    connection.Grow();
                    var read = await socket.ReceiveAsync(connection._buffer.AsMemory(connection._have), SocketFlags.None, timeout.Token);
                    if (read == 0)
                    {
                        throw new IOException("closed before the connected frame");
                    }

                    connection._have += read;
                }

                connection.Consume(connection.NextFrame()!.Value.Length);
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }

        /// <summary>Reads frames until the socket closes: text frames to <paramref name="onFrame"/>, pings answered.</summary>
        public async Task ReceiveAsync(FrameHandler onFrame)
        {
            try
            {
                while (true)
                {
                    while (NextFrame() is { } frame)
                    {
                        if (frame.Opcode == 9)
                        {
                            await SendAsync(10, _buffer.AsSpan(frame.Length - frame.PayloadLength, frame.PayloadLength).ToArray());
                        }
                        else if (frame.Opcode == 8)
                        {
                            return;
                        }
                        else
                        {
                            onFrame(frame.Opcode, _buffer.AsSpan(frame.Length - frame.PayloadLength, frame.PayloadLength));
                        }

                        Consume(frame.Length);
                    }

                    Grow();
                    var read = await _socket.ReceiveAsync(_buffer.AsMemory(_have), SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }

                    _have += read;
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        public Task SendTextAsync(byte[] utf8) => SendAsync(1, utf8);

        /// <summary>A masked frame (key 0: the payload goes as it is), which small payloads fit in one send.</summary>
        private async Task SendAsync(int opcode, byte[] payload)
        {
            if (payload.Length > 125)
            {
                throw new ArgumentOutOfRangeException(nameof(payload));
            }

            var frame = new byte[6 + payload.Length];
            frame[0] = (byte)(0x80 | opcode);
            frame[1] = (byte)(0x80 | payload.Length);
            payload.CopyTo(frame, 6);
            await _socket.SendAsync(frame, SocketFlags.None);
        }

        /// <summary>The whole frame at the start of the buffer, or null while it is incomplete.</summary>
        private (int Opcode, int Length, int PayloadLength)? NextFrame()
        {
            if (_have < 2)
            {
                return null;
            }

            var opcode = _buffer[0] & 0x0F;
            long length = _buffer[1] & 0x7F;
            var head = 2;
            if (length == 126)
            {
                if (_have < 4)
                {
                    return null;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(2));
                head = 4;
            }
            else if (length == 127)
            {
                if (_have < 10)
                {
                    return null;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(2));
                head = 10;
            }

            if (head + length > _have)
            {
                while (_buffer.Length < head + length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                return null;
            }

            return (opcode, head + (int)length, (int)length);
        }

        private void Consume(int bytes)
        {
            _buffer.AsSpan(bytes, _have - bytes).CopyTo(_buffer);
            _have -= bytes;
        }

        private void Grow()
        {
            if (_have == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }

        public void Dispose()
        {
            try
            {
                // Closed with a reset: no TIME_WAIT left behind on the source addresses.
                _socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
            }

            _socket.Dispose();
        }
    }

    private delegate void FrameHandler(int opcode, ReadOnlySpan<byte> payload);
}
