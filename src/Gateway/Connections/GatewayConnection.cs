using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Security.Claims;
using System.Threading.Channels;
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
public sealed partial class GatewayConnection
{
    private const int Open = 0;
    private const int Closing = 1;
    private const int Finished = 2;
    private const int InitialReceiveBuffer = 4096;

    private readonly ConnectionServices _services;
    private readonly Channel<OutboundMessage> _queue;
    private readonly long _connectedTicks;
    private WebSocket? _socket;
    private ConnectionStream? _stream;
    private Action? _abortTransport;
    private long _lastActiveTicks;
    private int _state;
    private int _closeStatus;
    private string _closeReason = "";
    private long _closeRequestedTicks;
    private bool _clientInitiatedClose;
    private long _messagesReceived;
    private volatile bool _dispatching;
    private long _pingSentTicks;
    private bool _pingOutstanding;
    private CancellationTokenSource? _closedSource;
    private ConcurrentDictionary<string, string>? _attributes;

    /// <summary>Creates a connection for a handshake that has not been upgraded yet.</summary>
    public GatewayConnection(string id, HandshakeInfo handshake, ConnectionServices services)
    {
        ArgumentNullException.ThrowIfNull(services);
        Id = id;
        Handshake = handshake;
        _services = services;
        _connectedTicks = services.NowTicks;
        _lastActiveTicks = _connectedTicks;
        _pingSentTicks = _connectedTicks;
        _queue = Channel.CreateBounded<OutboundMessage>(new BoundedChannelOptions(services.Options.SendQueueLimit)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The connection id.</summary>
    public string Id { get; }

    /// <summary>What the opening handshake carried (source IP, user agent, headers, query).</summary>
    public HandshakeInfo Handshake { get; }

    /// <summary>When the handshake arrived.</summary>
    public DateTimeOffset ConnectedAt => new(_connectedTicks, TimeSpan.Zero);

    /// <summary>When a data frame last went either way.</summary>
    public DateTimeOffset LastActiveAt => new(Volatile.Read(ref _lastActiveTicks), TimeSpan.Zero);

    /// <summary>The client address.</summary>
    public string SourceIp => Handshake.SourceIp;

    /// <summary>The client's user agent, or null.</summary>
    public string? UserAgent => Handshake.UserAgent;

    /// <summary>The authenticated client (anonymous unless authentication is configured).</summary>
    public ClaimsPrincipal User { get; set; } = new(new ClaimsIdentity());

    /// <summary>Data attached to the connection by handlers or backends.</summary>
    public IDictionary<string, string> Attributes =>
        _attributes ?? Interlocked.CompareExchange(ref _attributes, new(StringComparer.Ordinal), null) ?? _attributes;

    /// <summary>True until the connection starts closing.</summary>
    public bool IsOpen => Volatile.Read(ref _state) == Open && _socket is not null;

    /// <summary>True while a ping is out and nothing has come back since.</summary>
    internal bool AwaitingPong => _pingOutstanding && _stream is { InboundSeen: false };

    /// <summary>Messages waiting in the send queue.</summary>
    public int QueuedMessages => _queue.Reader.CanCount ? _queue.Reader.Count : 0;

    /// <summary>Cancelled when the connection has closed.</summary>
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
                else if (Volatile.Read(ref _state) == Finished)
                {
                    source.Cancel();
                }
            }

            return _closedSource.Token;
        }
    }

    /// <summary>Queues a message for the writer loop. Never blocks; a full queue closes the connection (1013).</summary>
    public SendResult TrySend(OutboundMessage message)
    {
        if (Volatile.Read(ref _state) != Open)
        {
            return SendResult.Gone;
        }

        if (_queue.Writer.TryWrite(message))
        {
            return SendResult.Sent;
        }

        if (Volatile.Read(ref _state) != Open)
        {
            return SendResult.Gone;
        }

        Log.SlowConsumer(_services.Logger, Id, _services.Options.SendQueueLimit);
        Close(CloseCodes.TryAgainLater, "Slow consumer");
        return SendResult.QueueFull;
    }

    /// <summary>Queues a text message.</summary>
    public SendResult TrySendText(ReadOnlyMemory<byte> utf8) => TrySend(OutboundMessage.Text(utf8));

    /// <summary>Starts the close handshake with <paramref name="status"/>; queued messages not yet written are dropped.</summary>
    /// <returns>False when the connection was already closing.</returns>
    public bool Close(int status, string? reason)
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open)
        {
            return false;
        }

        _closeStatus = status;
        _closeReason = reason ?? "";
        Volatile.Write(ref _closeRequestedTicks, _services.NowTicks);
        _queue.Writer.TryComplete();
        return true;
    }

    /// <summary>Drops the socket without a close handshake, recording <paramref name="status"/> as the reason it ended.</summary>
    internal void Abort(int status, string reason)
    {
        MarkEnded(status, reason);
        DropTransport();
    }

    /// <summary>Records how the connection ended, if nothing has yet, and stops the writer.</summary>
    private void MarkEnded(int status, string reason)
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) == Open)
        {
            _closeStatus = status;
            _closeReason = reason;
            Volatile.Write(ref _closeRequestedTicks, _services.NowTicks);
        }

        _queue.Writer.TryComplete();
    }

    // Aborting the WebSocket alone leaves a read or write pending on the transport; aborting the
    // transport completes both, so the loops end at once.
    private void DropTransport()
    {
        _socket?.Abort();
        _abortTransport?.Invoke();
    }

    /// <summary>Binds the upgraded socket. Called once, after <c>$connect</c> accepted the handshake.</summary>
    internal void Attach(WebSocket socket, ConnectionStream stream, Action abortTransport)
    {
        _socket = socket;
        _stream = stream;
        _abortTransport = abortTransport;
    }

    /// <summary>Runs the receive and write loops until the connection has closed; returns how it ended.</summary>
    internal async Task<DisconnectInfo> RunAsync(MessageCallback onMessage)
    {
        var writer = WriteLoopAsync();
        var info = await ReceiveLoopAsync(onMessage);
        await writer;
        Volatile.Write(ref _state, Finished);
        if (_closedSource is { } source)
        {
            await source.CancelAsync();
        }

        return info;
    }

    private async Task<DisconnectInfo> ReceiveLoopAsync(MessageCallback onMessage)
    {
        var socket = _socket!;
        var max = _services.Options.MaxMessageBytes;
        var cap = _services.Options.MaxMessagesPerConnection;
        var rejectBinary = _services.Options.BinaryFrames == Configuration.BinaryFrameHandling.Reject;
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                // A zero-byte receive waits for the next frame without holding a buffer, so an idle
                // connection keeps none; one is rented only while a message is being assembled.
                var result = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return OnCloseFrame(socket);
                }

                var binary = result.MessageType == WebSocketMessageType.Binary;
                var discard = Volatile.Read(ref _state) != Open;
                var count = 0;
                buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialReceiveBuffer, max + 1));
                while (!result.EndOfMessage)
                {
                    if (count == buffer.Length)
                    {
                        if (discard)
                        {
                            count = 0;
                        }
                        else
                        {
                            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                            buffer.AsSpan(0, count).CopyTo(larger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = larger;
                        }
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return OnCloseFrame(socket);
                    }

                    count += result.Count;
                    if (count > max && !discard)
                    {
                        Log.MessageTooBig(_services.Logger, Id, max);
                        Close(CloseCodes.MessageTooBig, "Message too big");
                        discard = true;
                        count = 0;
                    }
                }

                if (!discard)
                {
                    if (cap > 0 && ++_messagesReceived > cap)
                    {
                        Log.MessageCapReached(_services.Logger, Id, cap);
                        Close(CloseCodes.PolicyViolation, "Message limit reached");
                    }
                    else if (binary && rejectBinary)
                    {
                        Log.BinaryRejected(_services.Logger, Id);
                        Close(CloseCodes.UnsupportedData, "Binary frames are not accepted");
                    }
                    else
                    {
                        Touch();
                        _dispatching = true;
                        try
                        {
                            await onMessage(this, buffer.AsMemory(0, count), binary);
                        }
                        finally
                        {
                            _dispatching = false;
                        }
                    }
                }

                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            return OnReceiveFailed(ex);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private DisconnectInfo OnCloseFrame(WebSocket socket)
    {
        var status = (int?)socket.CloseStatus ?? CloseCodes.NoStatus;
        var reason = socket.CloseStatusDescription ?? "";
        if (Close(status == CloseCodes.NoStatus ? CloseCodes.Normal : status, reason))
        {
            // The client spoke first: the writer echoes its close frame, and $disconnect reports its code.
            _clientInitiatedClose = true;
            return new DisconnectInfo(status, reason, InitiatedByClient: true);
        }

        return new DisconnectInfo(_closeStatus, _closeReason, InitiatedByClient: _clientInitiatedClose);
    }

    private DisconnectInfo OnReceiveFailed(Exception ex)
    {
        // The protocol layer writes its own close frame for a protocol error (1002) or invalid UTF-8 (1007).
        var sent = _stream?.SentCloseStatus ?? 0;
        // The transport is left to end with the request, so that close frame is flushed; a writer still
        // stuck on the peer is cut off by the sweeper when the close deadline passes.
        if (sent is CloseCodes.ProtocolError or CloseCodes.InvalidPayload && Volatile.Read(ref _state) == Open)
        {
            MarkEnded(sent, sent == CloseCodes.InvalidPayload ? "Invalid UTF-8 in a text message" : "Protocol error");
            Log.ProtocolViolation(_services.Logger, Id, sent, ex.Message);
        }
        else
        {
            MarkEnded(CloseCodes.Abnormal, "Connection lost");
        }

        _socket?.Abort();

        return new DisconnectInfo(_closeStatus, _closeReason, InitiatedByClient: false);
    }

    private async Task WriteLoopAsync()
    {
        var socket = _socket!;
        var stream = _stream!;
        var reader = _queue.Reader;
        try
        {
            var closing = false;
            while (!closing && await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var message))
                {
                    if (Volatile.Read(ref _state) != Open)
                    {
                        closing = true;
                        break;
                    }

                    if (message.Kind == OutboundKind.Ping)
                    {
                        await stream.WritePingAsync(CancellationToken.None);
                        continue;
                    }

                    var type = message.Kind == OutboundKind.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
                    await socket.SendAsync(message.Payload, type, endOfMessage: true, CancellationToken.None);
                    Touch();
                }
            }

            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync((WebSocketCloseStatus)_closeStatus, _closeReason, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            Log.WriteFailed(_services.Logger, Id, ex.Message);
            Abort(CloseCodes.Abnormal, "Connection lost");
        }
    }

    private void Touch() => Volatile.Write(ref _lastActiveTicks, _services.NowTicks);

    /// <summary>Checks lifetime, idle and ping deadlines. Called only by the sweeper, one call at a time.</summary>
    internal void CheckDeadlines(long now)
    {
        var s = _services;
        var state = Volatile.Read(ref _state);
        if (state == Closing)
        {
            if (now - Volatile.Read(ref _closeRequestedTicks) >= s.CloseTicks)
            {
                // The close handshake is overdue (a peer that neither reads nor answers): drop the socket.
                DropTransport();
            }

            return;
        }

        if (state != Open || _stream is null)
        {
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

        if (s.PingTicks <= 0)
        {
            return;
        }

        if (_pingOutstanding)
        {
            // Any inbound byte since the ping proves the peer alive. While a message is being
            // dispatched nothing is read, so silence then proves nothing either way.
            if (_stream.InboundSeen || _dispatching)
            {
                _pingOutstanding = false;
            }
            else if (now - _pingSentTicks >= s.PongTicks)
            {
                Log.PingTimeout(s.Logger, Id);
                Abort(CloseCodes.Abnormal, "Ping timeout");
                return;
            }
        }

        if (!_pingOutstanding && now - _pingSentTicks >= s.PingTicks)
        {
            _stream.ResetInbound();
            _pingOutstanding = true;
            _pingSentTicks = now;
            TrySend(new OutboundMessage(default, OutboundKind.Ping));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Connection {ConnectionId} is a slow consumer: its send queue of {Limit} messages is full; closing with 1013")]
        public static partial void SlowConsumer(ILogger logger, string connectionId, int limit);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Connection {ConnectionId} sent a message over {MaxBytes} bytes; closing with 1009")]
        public static partial void MessageTooBig(ILogger logger, string connectionId, int maxBytes);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Connection {ConnectionId} reached its cap of {Cap} messages; closing with 1008")]
        public static partial void MessageCapReached(ILogger logger, string connectionId, long cap);

        [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Connection {ConnectionId} sent a binary frame, which is configured to be rejected; closing with 1003")]
        public static partial void BinaryRejected(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Connection {ConnectionId} violated the protocol; closed with {Status}: {Detail}")]
        public static partial void ProtocolViolation(ILogger logger, string connectionId, int status, string detail);

        [LoggerMessage(EventId = 1106, Level = LogLevel.Debug, Message = "Connection {ConnectionId} write failed: {Detail}")]
        public static partial void WriteFailed(ILogger logger, string connectionId, string detail);

        [LoggerMessage(EventId = 1107, Level = LogLevel.Information, Message = "Connection {ConnectionId} reached its maximum lifetime; closing with 1001")]
        public static partial void LifetimeReached(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 1108, Level = LogLevel.Information, Message = "Connection {ConnectionId} was idle too long; closing with 1001")]
        public static partial void IdleTimeout(ILogger logger, string connectionId);

        [LoggerMessage(EventId = 1109, Level = LogLevel.Information, Message = "Connection {ConnectionId} did not answer a ping in time; dropped")]
        public static partial void PingTimeout(ILogger logger, string connectionId);
    }
}
