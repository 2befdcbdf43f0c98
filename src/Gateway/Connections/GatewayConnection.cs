using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.Extensions.Logging;

namespace Gateway.Connections;

/// <summary>Called by a connection's receive loop for each complete message, in order.</summary>
/// <param name="connection">The connection the message came from.</param>
/// <param name="body">The message; the buffer is reused once the returned task completes.</param>
/// <param name="binary">True for a binary message, false for text.</param>
public delegate ValueTask MessageCallback(GatewayConnection connection, ReadOnlyMemory<byte> body, bool binary);

/// <summary>
/// One client socket: a receive loop that assembles messages within the size limit, and a bounded send
/// queue drained by a single writer loop, the only code that writes to the socket. Deadlines (idle,
/// lifetime, ping) are checked by the node's one <see cref="ConnectionSweeper"/>, not a timer per connection.
/// </summary>
public sealed partial class GatewayConnection : ITransportSink
{
    private readonly ConnectionRuntime _runtime;
    private readonly SendQueue _queue;
    private long _connectedTicks;
    private ClientTransport? _transport;
    private long _lastActiveTicks;
    private long _queuedBytes;
    private int _activeStreams;

    // Null while open. Set once, by whichever of close, client close, abort or failure comes first;
    // every reader sees the whole record, so a close code is never read half-written.
    private CloseRecord? _close;
    private volatile bool _finished;
    private long _messagesReceived;
    private MessageCallback? _onMessage;
    private volatile bool _dispatching;
    private long _pingRequestedTicks;
    private long _pingWrittenTicks;
    private bool _pingOutstanding;
    private CancellationTokenSource? _closedSource;
    private int _messageTokens;
    private ConcurrentDictionary<string, string>? _attributes;
    private ConnectionIdentity? _identity;
    private long _authDeadlineTicks;
    private volatile bool _awaitingCredentials;
    private ConnectionFeatures? _features;

    // Null unless sessions are resumable (Connections:ResumeWindow), so that connections without it pay one field.
    private readonly ResumeState? _resume;

    /// <summary>Creates a connection for a handshake that has not been upgraded yet.</summary>
    public GatewayConnection(string id, HandshakeInfo handshake, ConnectionRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        Id = id;
        Handshake = handshake;
        _runtime = runtime;
        _connectedTicks = runtime.NowTicks;
        _lastActiveTicks = _connectedTicks;
        _pingRequestedTicks = _connectedTicks;
        _messageTokens = MessageBurst(runtime.Options);
        _queue = new SendQueue(runtime.Options.SendQueueLimit);
        if (runtime.Options.ResumeWindow > TimeSpan.Zero)
        {
            _resume = new ResumeState();
        }
    }

    /// <summary>The connection id.</summary>
    public string Id { get; }

    /// <summary>What the opening handshake carried (source IP, user agent, headers, query).</summary>
    public HandshakeInfo Handshake { get; }

    /// <summary>When the handshake arrived.</summary>
    public DateTimeOffset ConnectedAt => new(Volatile.Read(ref _connectedTicks), TimeSpan.Zero);

    /// <summary>When a data frame last went either way.</summary>
    public DateTimeOffset LastActiveAt => new(Volatile.Read(ref _lastActiveTicks), TimeSpan.Zero);

    /// <summary>The client address.</summary>
    public string SourceIp => Handshake.SourceIp;

    /// <summary>The client's user agent, or null.</summary>
    public string? UserAgent => Handshake.UserAgent;

    /// <summary>The authenticated client's claims (an anonymous principal unless authentication is configured).</summary>
    public ClaimsPrincipal User => Volatile.Read(ref _identity)?.Principal ?? new ClaimsPrincipal(new ClaimsIdentity());

    /// <summary>The state other parts keep on this connection (<see cref="ConnectionFeatures"/>), made on first use.</summary>
    public ConnectionFeatures Features =>
        Volatile.Read(ref _features) ?? Interlocked.CompareExchange(ref _features, new(), null) ?? _features!;

    /// <summary>The feature of type <typeparamref name="T"/> when one was set, without making the features of a connection that has none.</summary>
    public T? FeatureOrNull<T>()
        where T : class => Volatile.Read(ref _features)?.Get<T>();

    /// <summary>The topic patterns this connection follows, as descriptions show them (none when no part keeps any).</summary>
    public string[] SubscriptionsSnapshot() => Volatile.Read(ref _features)?.Find<ISubscriptionList>()?.Snapshot() ?? [];

    /// <summary>Bytes waiting in the send queue.</summary>
    internal long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Who the client authenticated as, or null for an anonymous client.</summary>
    public ConnectionIdentity? Identity => Volatile.Read(ref _identity);

    /// <summary>The user id: the JWT subject, the authorizer's principal id, or the signing access key id; null when anonymous.</summary>
    public string? UserId => Volatile.Read(ref _identity)?.UserId;

    /// <summary>
    /// True while the connection is upgraded but has not authenticated yet (its first message must carry the shared
    /// secret): it gets no pushes or broadcasts, is not listed, and has not run <c>$connect</c>.
    /// </summary>
    public bool AwaitingCredentials => _awaitingCredentials;

    /// <summary>Sets who the client is; <paramref name="closeAt"/> (UTC) closes the connection with 1008 when reached.</summary>
    internal void SetIdentity(ConnectionIdentity? identity, DateTimeOffset? closeAt)
    {
        Volatile.Write(ref _identity, identity);
        Volatile.Write(ref _authDeadlineTicks, closeAt?.UtcTicks ?? 0);
    }

    /// <summary>Marks the connection as waiting for its credentials until <paramref name="deadline"/> (UTC).</summary>
    internal void AwaitCredentials(DateTimeOffset deadline)
    {
        _awaitingCredentials = true;
        Volatile.Write(ref _authDeadlineTicks, deadline.UtcTicks);
    }

    /// <summary>Ends the wait begun by <see cref="AwaitCredentials"/>; the identity's own deadline (if any) applies from now on.</summary>
    internal void CredentialsAccepted(DateTimeOffset? closeAt)
    {
        Volatile.Write(ref _authDeadlineTicks, closeAt?.UtcTicks ?? 0);
        _awaitingCredentials = false;
    }

    /// <summary>Data attached to the connection by handlers or backends.</summary>
    public IDictionary<string, string> Attributes =>
        _attributes ?? Interlocked.CompareExchange(ref _attributes, new(StringComparer.Ordinal), null) ?? _attributes;

    /// <summary>A copy of the attributes, empty when none were ever set (without creating the dictionary).</summary>
    public IReadOnlyDictionary<string, string> AttributesSnapshot() =>
        Volatile.Read(ref _attributes) is { IsEmpty: false } attributes ? new Dictionary<string, string>(attributes, StringComparer.Ordinal) : EmptyAttributes;

    private static readonly IReadOnlyDictionary<string, string> EmptyAttributes = new Dictionary<string, string>();

    /// <summary>True from the upgrade until the connection starts closing.</summary>
    public bool IsOpen => Volatile.Read(ref _close) is null && _transport is not null;

    /// <summary>True while a ping is out and nothing has come back since.</summary>
    internal bool AwaitingPong => _pingOutstanding && _transport is { InboundSeen: false };

    /// <summary>Takes a token for one message; false when the connection is over its message rate.</summary>
    public bool TryTakeMessageToken()
    {
        if (_runtime.Options.MessageRateLimit <= 0)
        {
            return true;
        }

        // A token bucket in one int: no timer and no object per connection; the sweeper refills it on its tick.
        var tokens = Volatile.Read(ref _messageTokens);
        while (tokens > 0)
        {
            var seen = Interlocked.CompareExchange(ref _messageTokens, tokens - 1, tokens);
            if (seen == tokens)
            {
                return true;
            }

            tokens = seen;
        }

        return false;
    }

    private static int MessageBurst(Configuration.ConnectionsOptions o) => o.MessageRateBurst > 0 ? o.MessageRateBurst : o.MessageRateLimit;

    private void RefillMessageTokens()
    {
        var o = _runtime.Options;
        var burst = MessageBurst(o);
        var add = Math.Max(1, (int)Math.Round(o.MessageRateLimit * o.SweepInterval.TotalSeconds));
        var tokens = Volatile.Read(ref _messageTokens);
        while (tokens < burst)
        {
            var seen = Interlocked.CompareExchange(ref _messageTokens, Math.Min(burst, tokens + add), tokens);
            if (seen == tokens)
            {
                return;
            }

            tokens = seen;
        }
    }

    /// <summary>Messages this connection has received so far, the one being handled included.</summary>
    public long MessagesReceived => Interlocked.Read(ref _messagesReceived);

    /// <summary>Messages waiting in the send queue.</summary>
    public int QueuedMessages => _queue.Count;

    /// <summary>Cancelled as soon as the connection starts closing, however it closes.</summary>
    public CancellationToken Closed
    {
        get
        {
            if (_closedSource is null)
            {
                var source = new CancellationTokenSource();
                if (Interlocked.CompareExchange(ref _closedSource, source, null) is not null)
                {
                    source.Dispose();
                }
                else if (Volatile.Read(ref _close) is not null)
                {
                    source.Cancel();
                }
            }

            return _closedSource.Token;
        }
    }

    /// <summary>Queues a message for the writer loop. Never blocks; a full queue closes the connection (1013).</summary>
    public SendResult TrySend(OutboundMessage message) => TrySend(message, writeThrough: false);

    /// <summary>
    /// Queues a message as <see cref="TrySend(OutboundMessage)"/> does; when the writer loop was idle, it writes the message
    /// on this thread until it would wait (a single directed send, whose caller holds no lock). Never blocks on the client.
    /// </summary>
    internal SendResult TrySendWritingThrough(OutboundMessage message) => TrySend(message, writeThrough: true);

    private SendResult TrySend(OutboundMessage message, bool writeThrough)
    {
        if (Volatile.Read(ref _close) is not null)
        {
            return SendResult.Gone;
        }

        if (_resume is { } resume && Volatile.Read(ref resume.Suspended) is not null && TryBuffer(resume, message) is { } buffered)
        {
            return buffered;
        }

        var size = message.Payload.Length;
        var queued = Interlocked.Add(ref _queuedBytes, size);
        if ((queued <= _runtime.Options.SendQueueByteLimit || queued == size) && _queue.TryWrite(message, resumeReaderHere: writeThrough))
        {
            return SendResult.Sent;
        }

        Interlocked.Add(ref _queuedBytes, -size);

        // A full queue, or one completed by a close that raced this send.
        if (!TryBeginClose(new CloseRecord(CloseCodes.TryAgainLater, "Slow consumer", _runtime.NowTicks, SendFrame: true, FlushQueued: false)))
        {
            return SendResult.Gone;
        }

        Log.SlowConsumer(_runtime.Logger, Id, SourceIp, _runtime.Options.SendQueueLimit, queued - size);
        _runtime.Metrics?.SlowConsumer();
        return SendResult.QueueFull;
    }

    /// <summary>Queues a text message.</summary>
    public SendResult TrySendText(ReadOnlyMemory<byte> utf8) => TrySend(OutboundMessage.Text(utf8));

    /// <summary>
    /// Queues a message, waiting for room in the send queue: for producers paced by this connection, such as a
    /// stream relayed to it, which must slow down with the client rather than have it closed as a slow consumer.
    /// </summary>
    public async ValueTask<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _close) is not null)
        {
            return SendResult.Gone;
        }

        // A waiting session takes what fits its buffer and never makes a producer wait for its client.
        if (_resume is { } resume && Volatile.Read(ref resume.Suspended) is not null && TryBuffer(resume, message) is { } buffered)
        {
            return buffered;
        }

        Interlocked.Add(ref _queuedBytes, message.Payload.Length);
        if (await _queue.WriteAsync(message, cancellationToken))
        {
            return SendResult.Sent;
        }

        Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
        return SendResult.Gone;
    }

    /// <summary>Claims one of <paramref name="limit"/> stream slots of this connection; false when all are taken.</summary>
    public bool TryBeginStream(int limit)
    {
        if (Interlocked.Increment(ref _activeStreams) > limit)
        {
            Interlocked.Decrement(ref _activeStreams);
            return false;
        }

        return true;
    }

    /// <summary>Frees a slot claimed by <see cref="TryBeginStream"/>.</summary>
    public void EndStream() => Interlocked.Decrement(ref _activeStreams);

    /// <summary>
    /// Starts the close handshake with <paramref name="status"/> (1000, 1001–1003, 1007–1014, 3000–4999).
    /// Messages queued before the close are still written, within <c>CloseTimeout</c>.
    /// </summary>
    /// <returns>False when the connection was already closing.</returns>
    public bool Close(int status, string? reason)
    {
        if (!IsSendableCloseStatus(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "not a close code that may be sent in a close frame");
        }

        return TryBeginClose(new CloseRecord(status, reason ?? "", _runtime.NowTicks, SendFrame: true, FlushQueued: true));
    }

    /// <summary>True for a code a close frame may carry (RFC 6455 §7.4).</summary>
    public static bool IsSendableCloseStatus(int status) =>
        status is 1000 or 1001 or 1002 or 1003 or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    /// <summary>Drops the socket without a close handshake, recording <paramref name="status"/> as the reason it ended.</summary>
    internal void Abort(int status, string reason)
    {
        TryBeginClose(new CloseRecord(status, reason, _runtime.NowTicks, SendFrame: false, FlushQueued: false));
        DropTransport();
    }

    private bool TryBeginClose(CloseRecord record)
    {
        if (_resume is { } resume && Volatile.Read(ref _close) is null)
        {
            // A dropped socket (or a client that said it will resume) leaves the session waiting; any other close of a
            // waiting session ends it.
            if (IsResumableDrop(record) && TrySuspend(resume, record))
            {
                return true;
            }

            if (Volatile.Read(ref resume.Suspended) is not null)
            {
                return EndWaiting(resume, record);
            }
        }

        var won = Interlocked.CompareExchange(ref _close, record, null) is null;
        _queue.Complete();
        if (won && Volatile.Read(ref _closedSource) is { } source)
        {
            // Handlers waiting on Closed run on the thread pool, never inside a send or a sweep.
            _ = source.CancelAsync();
        }

        return won;
    }

    private void DropTransport() => Volatile.Read(ref _transport)?.Abort();

    /// <summary>Binds the upgraded transport. Called once, after <c>$connect</c> accepted the handshake.</summary>
    internal void Attach(ClientTransport transport) => _transport = transport;

    /// <summary>Runs the receive and write loops until the connection has closed; returns how it ended.</summary>
    internal async Task<RunEnd> RunAsync(MessageCallback onMessage)
    {
        var writer = WriteLoopAsync();
        try
        {
            await ReceiveLoopAsync(onMessage);
        }
        catch (Exception ex)
        {
            // A failure of our own (not the peer's): never let it skip the close, the writer or $disconnect.
            Log.ReceiveLoopFailed(_runtime.Logger, ex, Id, SourceIp);
            TryBeginClose(new CloseRecord(CloseCodes.InternalError, "Internal error", _runtime.NowTicks, SendFrame: true, FlushQueued: false));
        }

        try
        {
            await writer;
        }
        finally
        {
            _finished = true;
            _transport?.Release();
            if (Volatile.Read(ref _close) is null)
            {
                TryBeginClose(new CloseRecord(CloseCodes.Abnormal, "Connection lost", _runtime.NowTicks, SendFrame: false, FlushQueued: false));
            }
        }

        if (_resume is { } resume && Park(resume) is { } waiting)
        {
            return new RunEnd(new DisconnectInfo(waiting.Status, waiting.Reason, waiting.InitiatedByClient), Waiting: true);
        }

        var close = Volatile.Read(ref _close)!;
        return new RunEnd(new DisconnectInfo(close.Status, close.Reason, close.InitiatedByClient), Waiting: false);
    }

    private async Task ReceiveLoopAsync(MessageCallback onMessage)
    {
        _onMessage = onMessage;
        try
        {
            await _transport!.ReceiveAsync(this);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            OnReceiveFailed(ex);
        }
    }

    int ITransportSink.MaxMessageBytes => _runtime.Options.MaxMessageBytes;

    bool ITransportSink.Discarding => Volatile.Read(ref _close) is not null;

    void ITransportSink.MessageTooBig(int max)
    {
        Log.MessageTooBig(_runtime.Logger, Id, SourceIp, max);
        Close(CloseCodes.MessageTooBig, "Message too big");
    }

    async ValueTask ITransportSink.OnMessageAsync(ReadOnlyMemory<byte> body, bool binary)
    {
        // The limits are read for each message, so that a reload applies from the next one.
        var limits = _runtime.Options;
        var cap = limits.MaxMessagesPerConnection;
        if (Interlocked.Increment(ref _messagesReceived) > cap && cap > 0)
        {
            Log.MessageCapReached(_runtime.Logger, Id, cap);
            Close(CloseCodes.PolicyViolation, "Message limit reached");
        }
        else if (binary && limits.BinaryFrames == Configuration.BinaryFrameHandling.Reject)
        {
            Log.BinaryRejected(_runtime.Logger, Id, SourceIp);
            Close(CloseCodes.UnsupportedData, "Binary frames are not accepted");
        }
        else
        {
            Touch();
            _dispatching = true;
            try
            {
                await _onMessage!(this, body, binary);
            }
            finally
            {
                _dispatching = false;
            }
        }
    }

    void ITransportSink.OnPeerClose(int status, string reason)
    {
        // The client spoke first: the writer echoes its close frame, and $disconnect reports its code.
        TryBeginClose(new CloseRecord(status, reason, _runtime.NowTicks, SendFrame: true, FlushQueued: false) { InitiatedByClient = true });
    }

    private void OnReceiveFailed(Exception ex)
    {
        // The protocol layer writes its own close frame for a protocol error (1002) or invalid UTF-8 (1007).
        // The transport is left to end with the request, so that close frame is flushed; a writer still
        // stuck on the peer is cut off by the sweeper when the close deadline passes.
        var sent = _transport?.ProtocolCloseStatus ?? 0;
        var record = sent is CloseCodes.ProtocolError or CloseCodes.InvalidPayload
            ? new CloseRecord(sent, sent == CloseCodes.InvalidPayload ? "Invalid UTF-8 in a text message" : "Protocol error", _runtime.NowTicks, SendFrame: false, FlushQueued: false)
            : new CloseRecord(CloseCodes.Abnormal, "Connection lost", _runtime.NowTicks, SendFrame: false, FlushQueued: false);
        if (TryBeginClose(record) && record.Status != CloseCodes.Abnormal)
        {
            Log.ProtocolViolation(_runtime.Logger, Id, SourceIp, record.Status, ex.Message);
        }

        _transport?.StopFraming();
    }

    private async Task WriteLoopAsync()
    {
        var transport = _transport!;
        var queue = _queue;
        try
        {
            var stop = false;
            while (!stop && await queue.WaitToReadAsync())
            {
                while (queue.TryRead(out var message))
                {
                    if (Volatile.Read(ref _close) is { FlushQueued: false })
                    {
                        stop = true;
                        break;
                    }

                    if (message.Kind == OutboundKind.Ping)
                    {
                        // The pong deadline counts from here, not from when the ping was queued behind data.
                        Volatile.Write(ref _pingWrittenTicks, _runtime.NowTicks);
                        await transport.PingAsync();
                        continue;
                    }

                    _resume?.Written(this, message);

                    // Activity counts from when the write starts: the peer can only read the message after this,
                    // so whatever it does next (or a clock moved once it has the message) comes after the touch.
                    Touch();
                    await transport.SendAsync(message, flush: queue.Count == 0);
                    Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
                    _runtime.Metrics?.Sent(message.Payload.Length);
                    if (_resume is { CatchingUp: true } catchingUp)
                    {
                        EndCatchUp(catchingUp);
                    }
                }
            }

            if (Volatile.Read(ref _close) is { SendFrame: true } close && transport.CanSendClose)
            {
                var status = IsSendableCloseStatus(close.Status) ? close.Status : CloseCodes.Normal;
                await transport.CloseAsync(status, close.Reason);
            }
            else if (_resume is { Suspended: { InitiatedByClient: true } said } && transport.PeerClosed && transport.CanSendClose)
            {
                // A client that closed saying it will resume gets its close frame echoed; the session waits.
                await transport.CloseAsync(said.Status, said.Reason);
            }
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or ArgumentException)
        {
            Log.WriteFailed(_runtime.Logger, Id, ex.Message);

            // A write fails once the protocol layer has closed with its own frame (1002, 1007) while replies were
            // still queued. The receive loop records that close and leaves the transport to flush the frame; dropping
            // the transport here would lose the frame and could report 1006 instead.
            if (transport.ProtocolCloseStatus is not (CloseCodes.ProtocolError or CloseCodes.InvalidPayload) || Volatile.Read(ref _close) is { SendFrame: true })
            {
                Abort(CloseCodes.Abnormal, "Connection lost");
            }
        }
    }

    private void Touch() => Volatile.Write(ref _lastActiveTicks, _runtime.NowTicks);

    /// <summary>Checks lifetime, idle and ping deadlines. Called only by the sweeper, one call at a time.</summary>
    internal void CheckDeadlines(long now)
    {
        var s = _runtime;
        if (_resume is { } resume && CheckWaiting(resume, now))
        {
            return;
        }

        if (_finished || _transport is not { } transport)
        {
            return;
        }

        if (s.Options.MessageRateLimit > 0)
        {
            RefillMessageTokens();
        }

        if (Volatile.Read(ref _close) is { } close)
        {
            if (now - close.Ticks >= s.CloseTicks)
            {
                // The close is overdue (a peer that neither reads nor answers): drop the socket.
                DropTransport();
            }

            return;
        }

        var authDeadline = Volatile.Read(ref _authDeadlineTicks);
        if (authDeadline != 0 && now >= authDeadline)
        {
            var detail = _awaitingCredentials ? "no credentials arrived in time" : "the token expired";
            Log.CredentialsExpired(s.Logger, Id, detail);
            TrySendText(Protocol.ClientFrames.Error("unauthorized", detail, default));
            Close(CloseCodes.PolicyViolation, "Unauthorized");
            return;
        }

        if (s.LifetimeTicks > 0 && now - _connectedTicks >= s.LifetimeTicks)
        {
            Log.LifetimeReached(s.Logger, Id);
            Close(CloseCodes.GoingAway, "Connection lifetime reached");
            return;
        }

        if (s.IdleTicks > 0 && now - Volatile.Read(ref _lastActiveTicks) >= s.IdleTicks)
        {
            Log.IdleTimeout(s.Logger, Id);
            Close(CloseCodes.GoingAway, "Idle timeout");
            return;
        }

        if (transport.KeepAliveDue(now))
        {
            TrySend(new OutboundMessage(default, OutboundKind.Ping));
        }

        if (s.PingTicks <= 0)
        {
            return;
        }

        if (_pingOutstanding)
        {
            // Any inbound byte since the ping proves the peer alive. While a message is being dispatched
            // nothing is read, and while the ping still waits behind queued data it has not been asked.
            var written = Volatile.Read(ref _pingWrittenTicks);
            if (transport.InboundSeen || _dispatching)
            {
                _pingOutstanding = false;
            }
            else if (written >= _pingRequestedTicks && now - written >= s.PongTicks)
            {
                Log.PingTimeout(s.Logger, Id);
                Abort(CloseCodes.Abnormal, "Ping timeout");
                return;
            }
        }

        if (!_pingOutstanding && now - _pingRequestedTicks >= s.PingTicks)
        {
            transport.ResetInbound();
            _pingOutstanding = true;
            _pingRequestedTicks = now;
            TrySend(new OutboundMessage(default, OutboundKind.Ping));
        }
    }

    /// <summary>How and when the connection began to end.</summary>
    private sealed record CloseRecord(int Status, string Reason, long Ticks, bool SendFrame, bool FlushQueued)
    {
        public bool InitiatedByClient { get; init; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1130, Level = LogLevel.Information, Message = "Connection {ConnectionId} closed with 1008: {Detail}")]
        public static partial void CredentialsExpired(ILogger logger, string connectionId, string detail);

        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Connection {ConnectionId} from {SourceIp} is a slow consumer: its send queue (limit {Limit} messages) is full with {QueuedBytes} bytes waiting; closing with 1013")]
        public static partial void SlowConsumer(ILogger logger, string connectionId, string sourceIp, int limit, long queuedBytes);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Connection {ConnectionId} from {SourceIp} sent a message over {MaxBytes} bytes; closing with 1009")]
        public static partial void MessageTooBig(ILogger logger, string connectionId, string sourceIp, int maxBytes);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Connection {ConnectionId} reached its cap of {Cap} messages; closing with 1008")]
        public static partial void MessageCapReached(ILogger logger, string connectionId, long cap);

        [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Connection {ConnectionId} from {SourceIp} sent a binary frame, which is configured to be rejected; closing with 1003")]
        public static partial void BinaryRejected(ILogger logger, string connectionId, string sourceIp);

        [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Connection {ConnectionId} from {SourceIp} violated the protocol; closed with {Status}: {Detail}")]
        public static partial void ProtocolViolation(ILogger logger, string connectionId, string sourceIp, int status, string detail);

        [LoggerMessage(EventId = 1106, Level = LogLevel.Debug, Message = "Connection {ConnectionId} write failed: {Detail}")]
        public static partial void WriteFailed(ILogger logger, string connectionId, string detail);

        [LoggerMessage(EventId = 1107, Level = LogLevel.Information, Message = "Connection {ConnectionId} reached its maximum lifetime; closing with 1001")]
        public static partial void LifetimeReached(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 1108, Level = LogLevel.Information, Message = "Connection {ConnectionId} was idle too long; closing with 1001")]
        public static partial void IdleTimeout(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 1109, Level = LogLevel.Information, Message = "Connection {ConnectionId} did not answer a ping in time; dropped")]
        public static partial void PingTimeout(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 1110, Level = LogLevel.Error, Message = "Connection {ConnectionId} from {SourceIp}: the receive loop failed; closing with 1011")]
        public static partial void ReceiveLoopFailed(ILogger logger, Exception exception, string connectionId, string sourceIp);
    }
}
