using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Threading.Channels;

namespace Gateway.Connections;

/// <summary>
/// A Server-Sent Events stream as a connection's wire. Every frame the connection writes becomes one event on the
/// response: a text frame an <c>id:</c> and its <c>data:</c> lines, a binary frame <c>event: binary</c> with its bytes
/// in base64, the connected frame <c>event: connected</c>, the close <c>event: close</c>; a ping is a comment line
/// (<c>: keep-alive</c>). The client's messages arrive as posts (<see cref="SseSession"/>), each taken into a small inbox
/// that the receive loop applies in order. An event's id is <c>{n}.{connectionId}.{nodeId}.{key}</c>: the data frames
/// written so far on the session (counted as a resuming WebSocket client counts them), where it lives, and the
/// connection's key, so that a reconnect with <c>Last-Event-ID</c> can resume it on any node.
/// </summary>
internal sealed class SseTransport : ClientTransport
{
    /// <summary>Messages taken but not yet applied, per stream; a client that posts one at a time never has more than one.</summary>
    public const int InboxCapacity = 16;

    private static readonly byte[] IdField = "id: "u8.ToArray();
    private static readonly byte[] DataField = "data: "u8.ToArray();
    private static readonly byte[] ConnectedEvent = "event: connected\n"u8.ToArray();
    private static readonly byte[] BinaryEvent = "event: binary\n"u8.ToArray();
    private static readonly byte[] CloseEvent = "event: close\n"u8.ToArray();
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();
    private static readonly byte[] ConnectedPrefix = "{\"type\":\"connected\""u8.ToArray();

    private readonly PipeWriter _output;
    private readonly byte[] _idSuffix;
    private readonly Channel<Inbound> _inbox = Channel.CreateBounded<Inbound>(new BoundedChannelOptions(InboxCapacity + 1) { SingleReader = true });
    private readonly TimeProvider _time;
    private readonly long _keepAliveTicks;
    private readonly CancellationTokenRegistration _dropped;
    private Action? _abortRequest;
    private long _written;
    private long _lastWriteTicks;
    private int _inboxCount;
    private volatile bool _inboundSeen;
    private volatile bool _closeWritten;
    private volatile bool _peerClosed;
    private volatile bool _closeTaken;
    private volatile bool _gone;

    /// <summary>
    /// A stream on <paramref name="output"/> (the response body, its headers sent) for connection
    /// <paramref name="connectionId"/> of node <paramref name="nodeId"/>, whose client has received <paramref name="written"/>
    /// data frames. <paramref name="requestAborted"/> fires when the client goes away; <paramref name="abortRequest"/> ends the response at once.
    /// </summary>
    public SseTransport(PipeWriter output, string connectionId, string nodeId, string key, long written, TimeSpan keepAlive, TimeProvider time, Action abortRequest, CancellationToken requestAborted)
    {
        _output = output;
        _idSuffix = System.Text.Encoding.ASCII.GetBytes($".{connectionId}.{nodeId}.{key}\n");
        _written = written;
        _keepAliveTicks = keepAlive.Ticks;
        _time = time;
        _lastWriteTicks = time.GetUtcNow().UtcTicks;
        _abortRequest = abortRequest;
        _dropped = requestAborted.Register(static state => ((SseTransport)state!).Drop(), this);
    }

    /// <summary>
    /// True when something went out since <see cref="ResetInbound"/>: a write that completed (the client reads its
    /// stream, or at least its connection takes bytes) or a post. A client that only listens is alive while it reads.
    /// </summary>
    public override bool InboundSeen => _inboundSeen;

    public override void ResetInbound() => _inboundSeen = false;

    public override int ProtocolCloseStatus => 0;

    public override bool CanSendClose => !_closeWritten && !_gone;

    public override bool PeerClosed => _peerClosed;

    /// <inheritdoc />
    public override bool KeepAliveDue(long now)
    {
        if (_gone || _closeWritten || now - Volatile.Read(ref _lastWriteTicks) < _keepAliveTicks)
        {
            return false;
        }

        // Asked once per interval: the write that follows moves the mark again.
        Volatile.Write(ref _lastWriteTicks, now);
        return true;
    }

    /// <summary>Takes a posted message for the receive loop; <see cref="SsePostOutcome.Busy"/> when the inbox is full.</summary>
    public SsePostOutcome TryTake(byte[] body, bool binary)
    {
        if (_gone)
        {
            return SsePostOutcome.Reconnecting;
        }

        if (_closeTaken || _closeWritten)
        {
            return SsePostOutcome.Gone;
        }

        if (Interlocked.Increment(ref _inboxCount) > InboxCapacity)
        {
            Interlocked.Decrement(ref _inboxCount);
            return SsePostOutcome.Busy;
        }

        if (!_inbox.Writer.TryWrite(new Inbound(body, binary)))
        {
            Interlocked.Decrement(ref _inboxCount);
            return _gone ? SsePostOutcome.Reconnecting : SsePostOutcome.Gone;
        }

        _inboundSeen = true;
        return SsePostOutcome.Accepted;
    }

    /// <summary>The client's close: applied after the messages it posted before it.</summary>
    public SsePostOutcome TakeClose()
    {
        if (_gone)
        {
            return SsePostOutcome.Reconnecting;
        }

        if (_closeTaken || _closeWritten)
        {
            return SsePostOutcome.Gone;
        }

        _closeTaken = true;
        _inbox.Writer.TryComplete();
        return SsePostOutcome.Closing;
    }

    public override async Task ReceiveAsync(ITransportSink sink)
    {
        var reader = _inbox.Reader;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out var message))
            {
                Interlocked.Decrement(ref _inboxCount);
                if (sink.Discarding)
                {
                    continue;
                }

                await sink.OnMessageAsync(message.Body, message.Binary);
            }
        }

        // The inbox ends with the client's close, the server's close event, or a drop (which throws above, once what
        // was taken before it has been applied).
        if (_closeTaken && !_closeWritten)
        {
            _peerClosed = true;
            sink.OnPeerClose(CloseCodes.Normal, "");
        }
    }

    public override ValueTask SendAsync(OutboundMessage message, bool flush)
    {
        try
        {
            Write(message);
        }
        catch (InvalidOperationException ex)
        {
            // The response was completed under us (the request ended): as a write to a closed socket.
            Drop();
            throw new IOException("The event stream ended", ex);
        }

        return flush ? FlushAsync() : ValueTask.CompletedTask;
    }

    private void Write(in OutboundMessage message)
    {
        var output = _output;
        var payload = message.Payload.Span;
        switch (message.Kind)
        {
            case OutboundKind.Binary:
                _written++;
                WriteId(output);
                output.Write(BinaryEvent);
                output.Write(DataField);
                WriteBase64(output, payload);
                output.Write("\n"u8);
                break;
            case OutboundKind.Session when payload.StartsWith(ConnectedPrefix):
                output.Write(ConnectedEvent);
                WriteId(output);
                WriteData(output, payload);
                break;
            case OutboundKind.Session:
                WriteId(output);
                WriteData(output, payload);
                break;
            default:
                _written++;
                WriteId(output);
                WriteData(output, payload);
                break;
        }

        output.Write("\n"u8);
    }

    public override async ValueTask PingAsync()
    {
        _output.Write(KeepAlive);
        await FlushAsync();
    }

    public override async ValueTask CloseAsync(int status, string reason)
    {
        using (var frame = Protocol.FrameJson.Start())
        {
            frame.Json.WriteStartObject();
            frame.Json.WriteNumber("code", status);
            frame.Json.WriteString("reason", reason);
            frame.Json.WriteEndObject();
            _output.Write(CloseEvent);
            WriteData(_output, frame.ToArray());
        }

        _output.Write("\n"u8);
        _closeWritten = true;
        try
        {
            await FlushAsync();
        }
        finally
        {
            // Nothing more is read: the receive loop ends once it has applied what it took.
            _inbox.Writer.TryComplete();
        }
    }

    public override void Abort()
    {
        Drop();
        Volatile.Read(ref _abortRequest)?.Invoke();
    }

    public override void StopFraming()
    {
        // No framing of the client's bytes to stop: posts are whole messages.
    }

    public override void Release() => Volatile.Write(ref _abortRequest, null);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _dropped.Dispose();
        }
    }

    /// <summary>The client went away (or the stream was cut): the receive loop fails once it has applied what it took.</summary>
    private void Drop()
    {
        _gone = true;
        _inbox.Writer.TryComplete(new IOException("The event stream ended"));
    }

    private async ValueTask FlushAsync()
    {
        var result = await _output.FlushAsync();
        if (result.IsCanceled || result.IsCompleted)
        {
            Drop();
            throw new IOException("The event stream's client went away");
        }

        Volatile.Write(ref _lastWriteTicks, _time.GetUtcNow().UtcTicks);
        _inboundSeen = true;
    }

    private void WriteId(PipeWriter output)
    {
        output.Write(IdField);
        var span = output.GetSpan(20);
        System.Buffers.Text.Utf8Formatter.TryFormat(_written, span, out var length);
        output.Advance(length);
        output.Write(_idSuffix);
    }

    /// <summary>One <c>data:</c> line per line of <paramref name="text"/> (a CR, LF or CRLF ends a line in an event stream).</summary>
    private static void WriteData(PipeWriter output, ReadOnlySpan<byte> text)
    {
        while (true)
        {
            output.Write(DataField);
            var end = text.IndexOfAny((byte)'\n', (byte)'\r');
            if (end < 0)
            {
                output.Write(text);
                output.Write("\n"u8);
                return;
            }

            output.Write(text[..end]);
            output.Write("\n"u8);
            var skip = text[end] == '\r' && end + 1 < text.Length && text[end + 1] == '\n' ? 2 : 1;
            text = text[(end + skip)..];
        }
    }

    private static void WriteBase64(PipeWriter output, ReadOnlySpan<byte> bytes)
    {
        const int Chunk = 3 * 1024;
        while (!bytes.IsEmpty)
        {
            var take = bytes[..Math.Min(Chunk, bytes.Length)];
            var span = output.GetSpan(Base64.GetMaxEncodedToUtf8Length(take.Length));
            Base64.EncodeToUtf8(take, span, out _, out var written);
            output.Advance(written);
            bytes = bytes[take.Length..];
        }
    }

    private readonly record struct Inbound(byte[] Body, bool Binary);
}
