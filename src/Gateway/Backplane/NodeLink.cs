using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Backplane;

/// <summary>
/// The direct link between nodes (<c>Gateway:Cluster:Link</c>): a listener that takes other nodes' links, and one
/// outgoing TCP connection per node this one sends directed calls or answers to, opened on first need and again,
/// after a failure, on the next need past a growing delay. On a connection: length-prefixed frames, each the bytes the
/// engine would have carried on the node's channel, handed to the receiver as they arrive. A node that opens a link
/// proves it knows the cluster's secret: the listener sends a random nonce, the node answers
/// HMAC-SHA256(secret, nonce ‖ its id ‖ <c>\n</c> ‖ the id it means to reach), and the listener compares in constant
/// time, accepts with one byte, or closes. A frame is "received" once written; a frame that could not be written
/// (the link failed, or was not up) goes through the engine instead.
/// </summary>
internal sealed partial class NodeLink : IAsyncDisposable
{
    /// <summary>The token of a liveness record that names the link's address after it.</summary>
    public const string Token = "link/1";

    /// <summary>The largest frame read; larger messages go through the engine.</summary>
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    private const int NonceBytes = 32;
    private const int MaxHandshakes = 32;
    private const byte Accepted = 1;
    private static readonly byte[] Magic = "GWL1"u8.ToArray();
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);
    private static readonly Task<long> Written = Task.FromResult(1L);

    private readonly NodeLinkOptions _options;
    private readonly byte[] _secret;
    private readonly ILogger _logger;
    private readonly Diagnostics.GatewayMetrics? _metrics;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Peer> _peers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Socket, byte> _accepted = new();
    private Socket? _listener;
    private int _handshakes;
    private string _self = "";
    private IBackplaneReceiver? _receiver;
    private IBackplaneTransport? _engine;

    /// <summary>Creates the link; it listens when the backplane connects.</summary>
    public NodeLink(IOptions<NodeLinkOptions> options, ILogger<NodeLink> logger, Diagnostics.GatewayMetrics? metrics = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _secret = Encoding.UTF8.GetBytes(_options.Secret ?? "");
        _logger = logger;
        _metrics = metrics;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Whether the link is configured.</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>The address other nodes reach this one's listener on, once it listens.</summary>
    public string? Advertised { get; private set; }

    /// <summary>Whether this node's link to <paramref name="nodeId"/> is up.</summary>
    public bool IsLinked(string nodeId) => _peers.TryGetValue(nodeId, out var peer) && peer.IsUp;

    /// <summary>Host and port of an address (<c>host:port</c>, <c>[v6]:port</c>).</summary>
    public static bool TrySplitAddress(string address, out string host, out int port)
    {
        ArgumentNullException.ThrowIfNull(address);
        host = "";
        port = 0;
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return host.Length > 0 && !host.Contains(' ', StringComparison.Ordinal) && (host.Contains(':', StringComparison.Ordinal) ? IPAddress.TryParse(host, out _) : true);
    }

    /// <summary>
    /// Listens as <paramref name="self"/>: frames that arrive go to <paramref name="receiver"/>; frames that cannot
    /// leave on a link go through <paramref name="engine"/>.
    /// </summary>
    public void Start(string self, IBackplaneReceiver receiver, IBackplaneTransport engine)
    {
        _self = self;
        _receiver = receiver;
        _engine = engine;
        var endPoint = IPEndPoint.Parse(_options.Listen!);
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.Bind(endPoint);
            listener.Listen(512);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new InvalidOperationException($"The node link could not listen on {_options.Listen} (Gateway:Cluster:Link:Listen): {ex.Message}", ex);
        }

        _listener = listener;
        var bound = (IPEndPoint)listener.LocalEndPoint!;
        var listening = Format(bound);
        Advertised = !string.IsNullOrWhiteSpace(_options.Advertise) ? _options.Advertise.Trim()
            : endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any) ? Format(new IPEndPoint(HostAddress(endPoint.AddressFamily), bound.Port))
            : listening;
        Log.Listening(_logger, listening, Advertised);
        _ = AcceptAsync(listener);
    }

    /// <summary>
    /// Writes <paramref name="message"/> on the link to <paramref name="nodeId"/> at <paramref name="address"/>; null
    /// when the link is not up (it is then opened in the background, unless a failure was too recent): the caller sends
    /// through the engine. The task gives 1 once written, or, when the link failed first, what the engine gave.
    /// </summary>
    public Task<long>? TrySend(string nodeId, string address, byte[] message, bool counted)
    {
        if (message.Length > MaxFrameBytes || _stopping.IsCancellationRequested)
        {
            return null;
        }

        if (!_peers.TryGetValue(nodeId, out var peer))
        {
            // Bounded: ids of nodes gone stay until the table is full, then it starts again.
            if (_peers.Count >= 1024)
            {
                foreach (var old in _peers.Values)
                {
                    old.Close();
                }

                _peers.Clear();
            }

            peer = _peers.GetOrAdd(nodeId, id => new Peer(this, id, address));
        }

        return peer.TrySend(message, counted);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener?.Dispose();
        foreach (var socket in _accepted.Keys)
        {
            // Ends a read blocked on the socket: its thread then returns.
            ShutDown(socket);
            socket.Dispose();
        }

        foreach (var peer in _peers.Values)
        {
            peer.Close();
        }

        _stopping.Dispose();
    }

    private static string Format(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : $"{endPoint.Address}:{endPoint.Port}";

    private static IPAddress HostAddress(AddressFamily family)
    {
        // A wildcard listener without Advertise: the address the host's name resolves to, as a container's does on its network.
        var name = Dns.GetHostName();
        var addresses = Dns.GetHostAddresses(name);
        return addresses.FirstOrDefault(a => !IPAddress.IsLoopback(a) && a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault(a => !IPAddress.IsLoopback(a) && family == AddressFamily.InterNetworkV6 && !a.IsIPv6LinkLocal)
            ?? throw new InvalidOperationException($"Gateway:Cluster:Link:Listen is a wildcard address and this host's name ({name}) resolves to no address other nodes could reach: set Gateway:Cluster:Link:Advertise.");
    }

    private byte[] Proof(ReadOnlySpan<byte> nonce, string from, string to)
    {
        var fromBytes = Encoding.UTF8.GetBytes(from);
        var toBytes = Encoding.UTF8.GetBytes(to);
        var signed = new byte[nonce.Length + fromBytes.Length + 1 + toBytes.Length];
        nonce.CopyTo(signed);
        fromBytes.CopyTo(signed, nonce.Length);
        signed[nonce.Length + fromBytes.Length] = (byte)'\n';
        toBytes.CopyTo(signed, nonce.Length + fromBytes.Length + 1);
        return HMACSHA256.HashData(_secret, signed);
    }

    private static void WriteId(Span<byte> into, byte[] id)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(into, (ushort)id.Length);
        id.CopyTo(into[2..]);
    }

    private static string ReadId(NetworkStream stream)
    {
        Span<byte> length = stackalloc byte[2];
        stream.ReadExactly(length);
        var size = BinaryPrimitives.ReadUInt16LittleEndian(length);
        if (size is 0 or > 256)
        {
            throw new InvalidDataException("a node id of the wrong size");
        }

        var id = new byte[size];
        stream.ReadExactly(id);
        return Encoding.UTF8.GetString(id);
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                Log.AcceptFailed(_logger, ex.Message);
                continue;
            }

            if (Interlocked.Increment(ref _handshakes) > MaxHandshakes)
            {
                Interlocked.Decrement(ref _handshakes);
                Log.Refused(_logger, socket.RemoteEndPoint?.ToString() ?? "?", "?", $"more than {MaxHandshakes} links are being opened to this node at once");
                socket.Dispose();
                continue;
            }

            // A thread of its own, not the thread pool: see Serve.
            try
            {
                var reader = new Thread(() => Run(socket)) { IsBackground = true, Name = "Gateway node link" };
                reader.UnsafeStart();
            }
            catch (Exception ex) when (ex is OutOfMemoryException or ThreadStartException)
            {
                // No thread to be had: this link is refused, its node sends through the engine, and this loop goes on.
                Interlocked.Decrement(ref _handshakes);
                socket.Dispose();
                Log.AcceptFailed(_logger, ex.Message);
            }
        }
    }

    /// <summary>A link's thread: whatever escapes it is logged, never let out to end the process.</summary>
    private void Run(Socket socket)
    {
        try
        {
            Serve(socket);
        }
#pragma warning disable CA1031 // The top of a thread of our own: an exception past here would end the process.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.ReaderFailed(_logger, ex);
        }
    }

    /// <summary>
    /// One node's link to this one, on a thread of its own: the handshake, then its frames until it closes. The socket
    /// is only ever read with blocking calls, so it stays a blocking socket: a frame that arrives wakes this thread
    /// once, in its read, instead of waking the socket engine's thread, which then wakes a thread-pool thread to read
    /// it. Links are few (one from each other node), and at most <see cref="MaxHandshakes"/> are being opened at once.
    /// </summary>
    private void Serve(Socket socket)
    {
        _accepted[socket] = 0;
        var remote = "?";
        var handshaking = true;
        CancellationTokenSource? deadline = null;
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            remote = socket.RemoteEndPoint?.ToString() ?? "?";
            socket.NoDelay = true;

            // The whole handshake has HandshakeTimeout: past it the socket is shut, which ends a read or write under way.
            deadline = new CancellationTokenSource(HandshakeTimeout, _time);
            var shut = deadline.Token.UnsafeRegister(static s => ShutDown((Socket)s!), socket);
            using var stream = new NetworkStream(socket, ownsSocket: false);
            var hello = new byte[Magic.Length + NonceBytes];
            Magic.CopyTo(hello, 0);
            RandomNumberGenerator.Fill(hello.AsSpan(Magic.Length));
            stream.Write(hello);
            var from = ReadId(stream);
            var to = ReadId(stream);
            var proof = new byte[32];
            stream.ReadExactly(proof);
            if (!CryptographicOperations.FixedTimeEquals(proof, Proof(hello.AsSpan(Magic.Length), from, to)))
            {
                Log.Refused(_logger, remote, from, "its proof does not match this node's Gateway:Cluster:Link:Secret");
                return;
            }

            if (to != _self)
            {
                Log.Refused(_logger, remote, from, $"it is meant for node {to}, gone from this address");
                return;
            }

            stream.Write([Accepted]);
            if (!shut.Unregister())
            {
                // The deadline came first: the socket is shut.
                return;
            }

            deadline.Dispose();

            handshaking = false;
            Interlocked.Decrement(ref _handshakes);
            Log.Accepted(_logger, from: remote);
            ReadFrames(socket, stream);
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or ObjectDisposedException)
        {
            // The other node closed its link, went away, took too long, or spoke something else; or this node is
            // stopping. The other node opens a new link when it needs one.
        }
        finally
        {
            deadline?.Dispose();
            if (handshaking)
            {
                Interlocked.Decrement(ref _handshakes);
            }

            _accepted.TryRemove(socket, out _);
            socket.Dispose();
        }
    }

    private void ReadFrames(Socket socket, NetworkStream stream)
    {
        var buffer = new byte[64 * 1024];
        int start = 0, end = 0;
        while (true)
        {
            // Every whole frame read so far is handed on under one hold: the answers they make leave together, from
            // this thread, before it reads again.
            using (DirectedOutbox.HoldFlushes())
            {
                while (end - start >= 4)
                {
                    var length = FrameLength(buffer, start);
                    if (end - start - 4 < length)
                    {
                        break;
                    }

                    var whole = buffer.AsSpan(start + 4, length).ToArray();
                    start += 4 + length;

                    // Counted before it is handed on: whatever it causes (an answer, a caller resuming) comes after the count.
                    _metrics?.LinkFrames("received", 1);
                    Deliver(whole);
                }
            }

            if (end - start >= 4 && FrameLength(buffer, start) is var large && large + 4 > buffer.Length)
            {
                // Larger than the buffer: read into its own array, holding nothing meanwhile.
                var frame = new byte[large];
                var have = end - start - 4;
                buffer.AsSpan(start + 4, have).CopyTo(frame);
                start = end = 0;
                stream.ReadExactly(frame.AsSpan(have));
                _metrics?.LinkFrames("received", 1);
                Deliver(frame);
                continue;
            }

            if (start > 0)
            {
                buffer.AsSpan(start, end - start).CopyTo(buffer);
                end -= start;
                start = 0;
            }

            var read = socket.Receive(buffer.AsSpan(end));
            if (read == 0)
            {
                return;
            }

            end += read;
        }
    }

    private static int FrameLength(byte[] buffer, int start)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(start));
        return length is < 0 or > MaxFrameBytes ? throw new InvalidDataException("a frame of the wrong size") : length;
    }

    private static void ShutDown(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Closed already.
        }
    }

    private void Deliver(byte[] frame)
    {
        try
        {
            _receiver!.OnMessage(frame);
        }
        // The receiver handles its own messages' failures; one that escaped must not end the link of every other.
#pragma warning disable CA1031
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.DeliveryFailed(_logger, ex);
        }
    }

    private sealed class Outgoing(byte[] bytes, TaskCompletionSource<long>? sent)
    {
        public byte[] Bytes { get; } = bytes;

        public TaskCompletionSource<long>? Sent { get; } = sent;
    }

    /// <summary>One open link to a node, with the frames waiting to be written on it (guarded by the peer's gate).</summary>
    private sealed class Connection(Socket socket, NetworkStream stream)
    {
        public Socket Socket { get; } = socket;

        public NetworkStream Stream { get; } = stream;

        public List<Outgoing> Queue { get; set; } = [];

        public bool Writing { get; set; }

        public bool Failed { get; set; }
    }

    /// <summary>This node's link to one other node.</summary>
    private sealed class Peer(NodeLink link, string nodeId, string address)
    {
        private readonly Lock _gate = new();
        private Connection? _up;
        private bool _connecting;
        private long _retryAt;
        private TimeSpan _backoff = FirstRetry;

        public bool IsUp => Volatile.Read(ref _up) is not null;

        public Task<long>? TrySend(byte[] message, bool counted)
        {
            Connection? up;
            Outgoing outgoing;
            var connect = false;
            var write = false;
            lock (_gate)
            {
                up = _up;
                if (up is null)
                {
                    if (!_connecting && link._time.GetTimestamp() >= _retryAt)
                    {
                        _connecting = connect = true;
                    }

                    outgoing = null!;
                }
                else
                {
                    outgoing = new Outgoing(message, counted ? new TaskCompletionSource<long>() : null);
                    up.Queue.Add(outgoing);
                    write = !up.Writing;
                    up.Writing = true;
                }
            }

            if (connect)
            {
                _ = ConnectAsync();
            }

            if (up is null)
            {
                return null;
            }

            if (write)
            {
                // Written from here: the frames queued while a write is under way leave together in the next one.
                _ = WriteAsync(up);
            }

            return outgoing.Sent?.Task ?? Written;
        }

        /// <summary>Closes the link; what waited on it goes through the engine.</summary>
        public void Close()
        {
            if (Volatile.Read(ref _up) is { } up)
            {
                Fail(up, "this node is stopping", null);
            }
        }

        private async Task WriteAsync(Connection connection)
        {
            var segments = new List<ArraySegment<byte>>();
            while (true)
            {
                List<Outgoing> batch;
                lock (_gate)
                {
                    if (connection.Failed || connection.Queue.Count == 0)
                    {
                        connection.Writing = false;
                        return;
                    }

                    batch = connection.Queue;
                    connection.Queue = [];
                }

                var lengths = new byte[4 * batch.Count];
                segments.Clear();
                for (var i = 0; i < batch.Count; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(lengths.AsSpan(4 * i), batch[i].Bytes.Length);
                    segments.Add(new ArraySegment<byte>(lengths, 4 * i, 4));
                    segments.Add(batch[i].Bytes);
                }

                // Counted before the write: the other node may read, and answer, before this thread returns from it.
                link._metrics?.LinkFrames("sent", batch.Count);
                try
                {
                    // One gathered write, one system call, for every frame queued.
                    await connection.Socket.SendAsync(segments, SocketFlags.None);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    Fail(connection, ex.Message, batch);
                    return;
                }

                foreach (var sent in batch)
                {
                    sent.Sent?.TrySetResult(1);
                }
            }
        }

        private async Task ConnectAsync()
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                if (!TrySplitAddress(address, out var host, out var port))
                {
                    throw new InvalidDataException($"'{address}' is not a host and port");
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(link._stopping.Token);
                timeout.CancelAfter(HandshakeTimeout);
                await socket.ConnectAsync(host, port, timeout.Token);
                var stream = new NetworkStream(socket, ownsSocket: false);
                var hello = new byte[Magic.Length + NonceBytes];
                await stream.ReadExactlyAsync(hello, timeout.Token);
                if (!hello.AsSpan(0, Magic.Length).SequenceEqual(Magic))
                {
                    throw new InvalidDataException("the other end is not a node link");
                }

                var from = Encoding.UTF8.GetBytes(link._self);
                var to = Encoding.UTF8.GetBytes(nodeId);
                var answer = new byte[2 + from.Length + 2 + to.Length + 32];
                WriteId(answer, from);
                WriteId(answer.AsSpan(2 + from.Length), to);
                link.Proof(hello.AsSpan(Magic.Length), link._self, nodeId).CopyTo(answer, answer.Length - 32);
                await stream.WriteAsync(answer, timeout.Token);
                var accepted = new byte[1];
                if (await stream.ReadAsync(accepted, timeout.Token) != 1 || accepted[0] != Accepted)
                {
                    throw new InvalidDataException("the node refused the link (another Gateway:Cluster:Link:Secret, or another node at that address now)");
                }

                var connection = new Connection(socket, stream);
                lock (_gate)
                {
                    _up = connection;
                    _connecting = false;
                    _backoff = FirstRetry;
                }

                Log.Linked(link._logger, nodeId, address);
                _ = WatchAsync(connection);
                if (link._stopping.IsCancellationRequested)
                {
                    Fail(connection, "this node is stopping", null);
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or InvalidDataException or ObjectDisposedException)
            {
                socket.Dispose();
                lock (_gate)
                {
                    _connecting = false;
                    _retryAt = link._time.GetTimestamp() + (long)(_backoff.TotalSeconds * link._time.TimestampFrequency);
                    _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, LastRetry.Ticks));
                }

                Log.LinkFailed(link._logger, nodeId, address, ex is OperationCanceledException ? "no answer in time" : ex.Message);
            }
        }

        /// <summary>The listener sends nothing after accepting: a read that ends means the link is closed.</summary>
        private async Task WatchAsync(Connection connection)
        {
            var reason = "closed by the other node";
            try
            {
                var one = new byte[1];
                if (await connection.Stream.ReadAsync(one, link._stopping.Token) > 0)
                {
                    reason = "the other node sent what it should not";
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                reason = ex.Message;
            }

            Fail(connection, reason, null);
        }

        /// <summary>
        /// Takes the link down: the frames of the write that failed (<paramref name="inFlight"/>) and those still
        /// waiting go through the engine, in order, before any later call does (which finds the link down).
        /// </summary>
        private void Fail(Connection connection, string reason, List<Outgoing>? inFlight)
        {
            var logged = false;
            lock (_gate)
            {
                if (!connection.Failed)
                {
                    connection.Failed = true;
                    logged = true;
                    if (_up == connection)
                    {
                        _up = null;
                        _retryAt = link._time.GetTimestamp() + (long)(FirstRetry.TotalSeconds * link._time.TimestampFrequency);
                    }
                }

                if (inFlight is not null)
                {
                    connection.Writing = false;
                    foreach (var outgoing in inFlight)
                    {
                        _ = ViaEngineAsync(outgoing);
                    }
                }

                foreach (var outgoing in connection.Queue)
                {
                    _ = ViaEngineAsync(outgoing);
                }

                connection.Queue = [];
            }

            connection.Socket.Dispose();
            if (logged && !link._stopping.IsCancellationRequested)
            {
                Log.LinkDown(link._logger, nodeId, reason);
            }
        }

        private async Task ViaEngineAsync(Outgoing outgoing)
        {
            try
            {
                if (outgoing.Sent is null)
                {
                    await link._engine!.SendToNodeAsync(nodeId, outgoing.Bytes);
                }
                else
                {
                    outgoing.Sent.TrySetResult(await link._engine!.PublishToNodeAsync(nodeId, outgoing.Bytes));
                }
            }
            // Whatever the engine threw goes to the call waiting on the frame, as a publish's failure would.
#pragma warning disable CA1031
            catch (Exception ex)
#pragma warning restore CA1031
            {
                outgoing.Sent?.TrySetException(ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1612, Level = LogLevel.Information, Message = "The node link listens on {EndPoint}; other nodes reach it at {Advertised}")]
        public static partial void Listening(ILogger logger, string endPoint, string advertised);

        [LoggerMessage(EventId = 1613, Level = LogLevel.Warning, Message = "Refused a node link from {Remote} (node {NodeId}): {Reason}")]
        public static partial void Refused(ILogger logger, string remote, string nodeId, string reason);

        [LoggerMessage(EventId = 1614, Level = LogLevel.Debug, Message = "Accepted a node link from {From}")]
        public static partial void Accepted(ILogger logger, string from);

        [LoggerMessage(EventId = 1615, Level = LogLevel.Information, Message = "Linked to node {NodeId} at {Address}")]
        public static partial void Linked(ILogger logger, string nodeId, string address);

        [LoggerMessage(EventId = 1616, Level = LogLevel.Warning, Message = "The link to node {NodeId} at {Address} could not be opened ({Reason}); calls go through the engine, and it is tried again on a later call")]
        public static partial void LinkFailed(ILogger logger, string nodeId, string address, string reason);

        [LoggerMessage(EventId = 1617, Level = LogLevel.Warning, Message = "The link to node {NodeId} went down ({Reason}); calls go through the engine until it is opened again")]
        public static partial void LinkDown(ILogger logger, string nodeId, string reason);

        [LoggerMessage(EventId = 1618, Level = LogLevel.Warning, Message = "Accepting a node link failed ({Reason})")]
        public static partial void AcceptFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1619, Level = LogLevel.Error, Message = "A message that came on a node link could not be handled")]
        public static partial void DeliveryFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 1620, Level = LogLevel.Error, Message = "A node link's reading thread failed; the link is closed and its node opens another when it needs one")]
        public static partial void ReaderFailed(ILogger logger, Exception exception);
    }
}
