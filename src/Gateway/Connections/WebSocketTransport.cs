using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.InteropServices;

namespace Gateway.Connections;

/// <summary>
/// A client's upgraded WebSocket, framed here (the server side of RFC 6455) straight on the connection's pipes: masking,
/// fragmentation, control frames, the close handshake, UTF-8 validation and the size limit. Nothing is buffered while
/// the socket is idle: a read waits on the pipe without taking a buffer, a message is assembled in a rented array
/// returned once it has been handled, and the writer loop's frames go straight into the output pipe, several to a
/// flush when they are queued together. A frame shared by many connections (<see cref="SharedFrame"/>) is written as
/// it is, without framing it again.
/// </summary>
internal sealed class WebSocketTransport : ClientTransport
{
    private const int InitialReceiveBuffer = 4096;

    // Written frames go out at the latest when this much waits unflushed, even while more messages are queued.
    private const int FlushThreshold = 64 * 1024;

    private static readonly byte[] PingFrame = [0x80 | WebSocketFraming.Ping, 0x00];

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly bool _ownsPipes;
    private readonly PerMessageDeflate? _deflate;

    // The writer loop and the receive loop (pongs, the close frame of a peer's fault) both write; whole frames only.
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private Action? _abortRequest;
    private volatile bool _inboundSeen;
    private volatile bool _stopped;
    private volatile bool _peerClosed;
    private volatile bool _closeSent;
    private bool _draining;
    private int _sentCloseStatus;

    // The frame being read: what is left of its payload, its mask key and how far into the payload the key has turned.
    private long _frameRemaining;
    private long _frameOffset;
    private uint _frameMask;
    private bool _inFrame;
    private bool _frameFin;

    // The message being assembled: its opcode (0 when none), buffer and length, the limit read at its start, whether
    // it is being dropped, and how far its text has been proven UTF-8.
    private byte _messageOpcode;
    private bool _discard;
    private byte[]? _buffer;
    private int _count;
    private int _max;
    private int _utf8Checked;

    // Compression: whether the message being read is compressed, the inflater it is read with (rented for the message,
    // or kept for the connection when the client keeps its context), and the compressor kept when the gateway keeps its.
    private bool _messageCompressed;
    private bool _inflateEnded;
    private MessageInflater? _inflater;
    private MessageDeflater? _keptDeflater;

    /// <summary>Frames over <paramref name="input"/> and <paramref name="output"/>; <paramref name="abortRequest"/> ends the request the upgrade came from.</summary>
    /// <param name="input">The bytes from the client.</param>
    /// <param name="output">The bytes to the client.</param>
    /// <param name="ownsPipes">True when the pipes were made for this socket (over an upgraded request's stream) and are completed with it.</param>
    /// <param name="abortRequest">Drops the connection.</param>
    /// <param name="deflate">permessage-deflate as negotiated in the handshake, or null.</param>
    public WebSocketTransport(PipeReader input, PipeWriter output, bool ownsPipes, Action abortRequest, PerMessageDeflate? deflate = null)
    {
        _input = input;
        _output = output;
        _ownsPipes = ownsPipes;
        _abortRequest = abortRequest;
        _deflate = deflate;
    }

    /// <summary>Runs over an upgraded request's stream, through pipes that hold no buffer while nothing is in flight.</summary>
    public static WebSocketTransport OverStream(Stream stream, Action abortRequest, PerMessageDeflate? deflate = null) => new(
        PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: InitialReceiveBuffer, minimumReadSize: 1024, leaveOpen: false, useZeroByteReads: true)),
        PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: InitialReceiveBuffer, leaveOpen: false)),
        ownsPipes: true,
        abortRequest,
        deflate);

    public override bool InboundSeen => _inboundSeen;

    public override void ResetInbound() => _inboundSeen = false;

    public override int ProtocolCloseStatus => Volatile.Read(ref _sentCloseStatus);

    public override bool CanSendClose => !_closeSent && !_stopped;

    public override bool PeerClosed => _peerClosed;

    public override async Task ReceiveAsync(ITransportSink sink)
    {
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync();
                var data = result.Buffer;
                if (result.IsCanceled || _stopped)
                {
                    _input.AdvanceTo(data.Start);
                    throw new OperationCanceledException("The read was cancelled.");
                }

                if (!data.IsEmpty)
                {
                    _inboundSeen = true;
                }

                var control = default(ControlFrame);
                var step = _draining ? Step.More : Parse(sink, ref data, out control);
                if (step == Step.More)
                {
                    _input.AdvanceTo(_draining ? data.End : data.Start, data.End);
                    if (result.IsCompleted)
                    {
                        throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The client ended the connection without a close frame.");
                    }

                    continue;
                }

                // What the step took is let go before anything is awaited, so a message being handled holds no pipe buffer.
                _input.AdvanceTo(data.Start);
                switch (step)
                {
                    case Step.Message:
                        await DeliverAsync(sink);
                        break;
                    case Step.Ping:
                        await PongAsync(control);
                        break;
                    case Step.Close:
                        _peerClosed = true;
                        sink.OnPeerClose(control.Status, control.Reason);
                        return;
                    case Step.ProtocolError or Step.InvalidText when sink.Discarding && !_closeSent:
                        // The connection is closing already (a message over the limit, say) and its close frame is
                        // on its way: that is the one the peer gets. The rest is read and dropped until the peer
                        // closes or goes, or the close deadline drops it.
                        _draining = true;
                        break;
                    case Step.ProtocolError or Step.InvalidText:
                        await FailAsync(step == Step.InvalidText ? CloseCodes.InvalidPayload : CloseCodes.ProtocolError, control.Reason);
                        break;
                }
            }
        }
        finally
        {
            ReleaseMessage();
        }
    }

    private async ValueTask DeliverAsync(ITransportSink sink)
    {
        var binary = _messageOpcode == WebSocketFraming.Binary;
        var discard = _discard;
        var body = _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _count);
        _messageOpcode = 0;
        try
        {
            if (!discard)
            {
                await sink.OnMessageAsync(body, binary);
            }
        }
        finally
        {
            ReleaseMessage();
        }
    }

    private void ReleaseMessage()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _count = 0;
        ReleaseInflater();
    }

    // A message's inflater goes back to the pool once the message is read (one the connection keeps stays).
    private void ReleaseInflater()
    {
        if (_inflater is { } inflater && _deflate is { ClientNoContextTakeover: true })
        {
            _inflater = null;
            MessageInflater.Return(inflater);
        }
    }

    private async ValueTask PongAsync(ControlFrame ping)
    {
        await _writeLock.WaitAsync();
        try
        {
            if (_closeSent || _stopped)
            {
                return;
            }

            var payload = ping.Payload.AsSpan(0, ping.Length);
            var span = _output.GetSpan(2 + payload.Length);
            var head = WebSocketFraming.WriteHead(span, WebSocketFraming.Pong, fin: true, compressed: false, payload.Length);
            payload.CopyTo(span[head..]);
            _output.Advance(head + payload.Length);
            await FlushAsync();
        }
        finally
        {
            _writeLock.Release();
            ArrayPool<byte>.Shared.Return(ping.Payload);
        }
    }

    // The peer broke the protocol: the close frame saying so goes out (between whole frames of the writer's), is
    // recorded for the connection, and the read side ends.
    private async ValueTask FailAsync(int status, string detail)
    {
        await WriteCloseAsync(status, "");
        throw new WebSocketException(status == CloseCodes.InvalidPayload ? WebSocketError.Faulted : WebSocketError.HeaderError, detail);
    }

    private enum Step
    {
        More,
        Frame,
        Skip,
        Message,
        Ping,
        Close,
        ProtocolError,
        InvalidText,
    }

    /// <summary>A control frame that was read whole: a ping's payload (rented), or a close frame's status and reason; or what a fault was.</summary>
    private readonly record struct ControlFrame(byte[] Payload, int Length, int Status, string Reason);

    // Reads from data until a step has something to act on, or everything there is has been taken (More). data is
    // left at the first byte not taken.
    private Step Parse(ITransportSink sink, ref ReadOnlySequence<byte> data, out ControlFrame control)
    {
        control = default;
        while (true)
        {
            if (!_inFrame)
            {
                var head = ReadHead(sink, ref data, out control);
                if (head == Step.Skip)
                {
                    continue;
                }

                if (head != Step.Frame)
                {
                    return head;
                }
            }

            while (_frameRemaining > 0 && !data.IsEmpty)
            {
                var chunk = FirstBytes(data);
                var n = (int)Math.Min(chunk.Length, _frameRemaining);
                if (!_discard && Take(chunk[..n], sink, out control) is var taken and not Step.More)
                {
                    return taken;
                }

                data = data.Slice(n);
                _frameRemaining -= n;
                _frameOffset += n;
            }

            if (_frameRemaining > 0)
            {
                return Step.More;
            }

            _inFrame = false;
            if (!_frameFin)
            {
                continue;
            }

            if (_messageCompressed && !_discard && !_inflateEnded && Inflate(Trailer, sink, out control) is var last and not Step.More)
            {
                return last;
            }

            if (_messageOpcode == WebSocketFraming.Text && !_discard && !Utf8Stream.IsComplete(_buffer.AsSpan(0, _count), _utf8Checked))
            {
                control = control with { Reason = "The text message is not UTF-8." };
                return Step.InvalidText;
            }

            return Step.Message;
        }
    }

    // The end of every compressed message, which the sender leaves off (RFC 7692 §7.2.2).
    private static ReadOnlySpan<byte> Trailer => [0x00, 0x00, 0xFF, 0xFF];

    // The first bytes of a sequence that is not empty (a slice may begin with an empty segment).
    private static ReadOnlySpan<byte> FirstBytes(in ReadOnlySequence<byte> data)
    {
        foreach (var memory in data)
        {
            if (!memory.IsEmpty)
            {
                return memory.Span;
            }
        }

        return default;
    }

    // Adds payload bytes to the message, within its limit: More when taken, or the fault they are.
    private Step Take(ReadOnlySpan<byte> masked, ITransportSink sink, out ControlFrame control)
    {
        control = default;
        if (_messageCompressed)
        {
            if (_inflateEnded)
            {
                return Step.More; // after a final block nothing more is inflated
            }

            var scratch = ArrayPool<byte>.Shared.Rent(Math.Min(masked.Length, 16 * 1024));
            try
            {
                var offset = _frameOffset;
                while (!masked.IsEmpty && !_discard && !_inflateEnded)
                {
                    var n = Math.Min(masked.Length, scratch.Length);
                    WebSocketFraming.Unmask(masked[..n], scratch, _frameMask, offset);
                    var step = Inflate(scratch.AsSpan(0, n), sink, out control);
                    if (step != Step.More)
                    {
                        return step;
                    }

                    offset += n;
                    masked = masked[n..];
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            return Step.More;
        }

        var needed = _count + masked.Length;
        if (needed > _max)
        {
            TooBig(sink);
            return Step.More;
        }

        var buffer = Room(needed);
        WebSocketFraming.Unmask(masked, buffer.AsSpan(_count, masked.Length), _frameMask, _frameOffset);
        _count = needed;
        return CheckText(out control);
    }

    // The message's buffer with room for needed bytes (at most the limit and one): rented at the first bytes, doubled as
    // the message grows.
    private byte[] Room(int needed)
    {
        if (_buffer is { } current && needed <= current.Length)
        {
            return current;
        }

        var size = _buffer is null ? Math.Min(InitialReceiveBuffer, _max + 1) : _buffer.Length;
        while (size < needed)
        {
            size = (int)Math.Min((long)size * 2, _max + 1L);
        }

        var larger = ArrayPool<byte>.Shared.Rent(size);
        if (_buffer is { } old)
        {
            old.AsSpan(0, _count).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(old);
        }

        return _buffer = larger;
    }

    private Step CheckText(out ControlFrame control)
    {
        control = default;
        if (_messageOpcode == WebSocketFraming.Text && !Utf8Stream.TryAdvance(_buffer.AsSpan(0, _count), ref _utf8Checked))
        {
            control = new ControlFrame([], 0, 0, "The text message is not UTF-8.");
            return Step.InvalidText;
        }

        return Step.More;
    }

    // Over the limit: the connection closes with 1009 and the rest of the message is read and dropped (a compressed
    // one is not inflated any further).
    private void TooBig(ITransportSink sink)
    {
        sink.MessageTooBig(_max);
        _discard = true;
        ReleaseMessage();
    }

    // Inflates unmasked compressed bytes into the message, a buffer at a time up to the limit.
    private Step Inflate(ReadOnlySpan<byte> compressed, ITransportSink sink, out ControlFrame control)
    {
        control = default;
        var inflater = _inflater!;
        while (true)
        {
            if (_buffer is null || _count == _buffer.Length)
            {
                if (_count > _max || (_buffer is not null && _buffer.Length > _max))
                {
                    TooBig(sink);
                    return Step.More;
                }

                Room(_count + 1);
            }

            var space = Math.Min(_buffer!.Length, _max + 1) - _count;
            var outcome = inflater.Inflate(compressed, _buffer.AsSpan(_count, space), out var consumed, out var produced);
            compressed = compressed[consumed..];
            _count += produced;
            if (outcome == MessageInflater.Outcome.Corrupt)
            {
                control = new ControlFrame([], 0, 0, "A compressed message that does not inflate.");
                return Step.ProtocolError;
            }

            if (_count > _max)
            {
                TooBig(sink);
                return Step.More;
            }

            if (CheckText(out control) != Step.More)
            {
                return Step.InvalidText;
            }

            if (outcome == MessageInflater.Outcome.End)
            {
                // A final block: the client's stream is over; one the connection keeps starts again for its next message.
                _inflateEnded = true;
                if (_deflate is { ClientNoContextTakeover: false })
                {
                    inflater.Restart();
                }

                return Step.More;
            }

            if ((compressed.IsEmpty && produced < space) || (consumed == 0 && produced == 0))
            {
                return Step.More;
            }
        }
    }

    // Reads a frame head. A data frame's head starts the frame (Frame), and a new message with it, whose limit and
    // whether it is dropped are read as it starts; a whole control frame is taken and returned (a pong is skipped);
    // More when the head (or the control frame) is not all there; a fault of the peer's otherwise.
    private Step ReadHead(ITransportSink sink, ref ReadOnlySequence<byte> data, out ControlFrame control)
    {
        control = default;
        if (data.Length < 2)
        {
            return Step.More;
        }

        Span<byte> head = stackalloc byte[14];
        data.Slice(0, 2).CopyTo(head);
        var fin = (head[0] & 0x80) != 0;
        var rsv = head[0] & 0x70;
        var opcode = (byte)(head[0] & 0x0F);
        var masked = (head[1] & 0x80) != 0;
        long length = head[1] & 0x7F;
        var isControl = (opcode & 0x08) != 0;

        string? fault = null;
        var compressed = rsv == 0x40 && _deflate is not null && opcode is WebSocketFraming.Text or WebSocketFraming.Binary;
        if (rsv != 0 && !compressed)
        {
            fault = "Reserved bits set without an extension that defines them.";
        }
        else if (!masked)
        {
            fault = "A client frame is not masked.";
        }
        else if (opcode is not (WebSocketFraming.Continuation or WebSocketFraming.Text or WebSocketFraming.Binary or WebSocketFraming.Close or WebSocketFraming.Ping or WebSocketFraming.Pong))
        {
            fault = $"Reserved opcode {opcode}.";
        }
        else if (isControl && (!fin || length > WebSocketFraming.MaxControlPayload))
        {
            fault = fin ? "A control frame is over 125 bytes." : "A control frame is fragmented.";
        }
        else if (opcode == WebSocketFraming.Continuation && _messageOpcode == 0)
        {
            fault = "A continuation frame without a message to continue.";
        }
        else if (opcode is WebSocketFraming.Text or WebSocketFraming.Binary && _messageOpcode != 0)
        {
            fault = "A new message inside a fragmented one.";
        }

        if (fault is not null)
        {
            control = new ControlFrame([], 0, 0, fault);
            return Step.ProtocolError;
        }

        var headLength = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + 4;
        if (data.Length < headLength)
        {
            return Step.More;
        }

        data.Slice(0, headLength).CopyTo(head);
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(head[2..]);
        }
        else if (length == 127)
        {
            var wide = BinaryPrimitives.ReadUInt64BigEndian(head[2..]);
            if (wide > long.MaxValue)
            {
                control = new ControlFrame([], 0, 0, "A frame length with its most significant bit set.");
                return Step.ProtocolError;
            }

            length = (long)wide;
        }

        var mask = MemoryMarshal.Read<uint>(head[(headLength - 4)..]);
        if (isControl)
        {
            if (data.Length < headLength + length)
            {
                return Step.More;
            }

            var payload = data.Slice(headLength, length);
            data = data.Slice(headLength + length);
            return ReadControl(opcode, payload, mask, out control);
        }

        data = data.Slice(headLength);
        if (opcode != WebSocketFraming.Continuation)
        {
            _messageOpcode = opcode;
            _discard = sink.Discarding;
            _max = sink.MaxMessageBytes;
            _count = 0;
            _utf8Checked = 0;
            _messageCompressed = compressed;
            _inflateEnded = false;
            if (compressed)
            {
                _inflater ??= _deflate!.ClientNoContextTakeover ? MessageInflater.Rent() : MessageInflater.Create();
            }
        }

        _inFrame = true;
        _frameFin = fin;
        _frameRemaining = length;
        _frameOffset = 0;
        _frameMask = mask;
        return Step.Frame;
    }

    // A whole control frame: a ping to answer, a pong to skip, or the peer's close (or a fault in it).
    private Step ReadControl(byte opcode, ReadOnlySequence<byte> maskedPayload, uint mask, out ControlFrame control)
    {
        control = default;
        Span<byte> payload = stackalloc byte[WebSocketFraming.MaxControlPayload];
        payload = payload[..(int)maskedPayload.Length];
        maskedPayload.CopyTo(payload);
        WebSocketFraming.Unmask(payload, payload, mask, 0);
        switch (opcode)
        {
            case WebSocketFraming.Ping:
                var copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, payload.Length));
                payload.CopyTo(copy);
                control = new ControlFrame(copy, payload.Length, 0, "");
                return Step.Ping;
            case WebSocketFraming.Pong:
                return Step.Skip; // nothing to do: any inbound byte already proved the peer alive
        }

        if (payload.Length == 0)
        {
            control = new ControlFrame([], 0, CloseCodes.NoStatus, "");
            return Step.Close;
        }

        if (payload.Length == 1)
        {
            control = new ControlFrame([], 0, 0, "A close frame with a one-byte payload.");
            return Step.ProtocolError;
        }

        var status = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!WebSocketFraming.IsValidReceivedCloseStatus(status))
        {
            control = new ControlFrame([], 0, 0, $"A close frame with status {status}, which may not be sent.");
            return Step.ProtocolError;
        }

        if (!WebSocketFraming.TryReadReason(payload[2..], out var reason))
        {
            control = new ControlFrame([], 0, 0, "A close reason that is not UTF-8.");
            return Step.InvalidText;
        }

        control = new ControlFrame([], 0, status, reason);
        return Step.Close;
    }

    public override async ValueTask SendAsync(OutboundMessage message, bool flush)
    {
        await _writeLock.WaitAsync();
        try
        {
            EnsureWritable();
            var shared = SharedFrame.Of(message);
            if (_deflate is { } deflate && message.Payload.Length >= Math.Max(1, deflate.MinMessageBytes) && message.Kind != OutboundKind.Ping)
            {
                WriteCompressed(message, shared, deflate);
            }
            else if (shared is not null)
            {
                _output.Write(shared.Frame.Span);
            }
            else
            {
                var opcode = message.Kind == OutboundKind.Binary ? WebSocketFraming.Binary : WebSocketFraming.Text;
                var payload = message.Payload.Span;
                var head = _output.GetSpan(WebSocketFraming.MaxServerHeadLength);
                _output.Advance(WebSocketFraming.WriteHead(head, opcode, fin: true, compressed: false, payload.Length));
                _output.Write(payload);
            }

            if (flush || (_output.CanGetUnflushedBytes && _output.UnflushedBytes >= FlushThreshold))
            {
                await FlushAsync();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // A compressed frame: RSV1 on, the message deflated. A message shared by many sockets is compressed once for all
    // the sockets that compress alike (each message on its own, the same window); otherwise here, for this socket.
    private void WriteCompressed(in OutboundMessage message, SharedFrame? shared, PerMessageDeflate deflate)
    {
        var opcode = message.Kind == OutboundKind.Binary ? WebSocketFraming.Binary : WebSocketFraming.Text;
        if (shared is not null && deflate.ServerNoContextTakeover)
        {
            _output.Write(shared.Compressed(deflate.SharingKey, (deflate, opcode), static (state, payload) => CompressFrame(state.deflate, state.opcode, payload.Span)).Span);
            return;
        }

        var deflater = deflate.ServerNoContextTakeover ? MessageDeflater.Rent(deflate.ServerWindowBits) : _keptDeflater ??= MessageDeflater.Create(deflate.ServerWindowBits);
        var (buffer, length) = deflater.Compress(message.Payload.Span, WebSocketFraming.MaxServerHeadLength, forget: deflate.ServerNoContextTakeover);
        try
        {
            if (deflate.ServerNoContextTakeover)
            {
                MessageDeflater.Return(deflater);
            }

            deflate.Compressed?.Invoke(message.Payload.Length, length);
            var head = _output.GetSpan(WebSocketFraming.MaxServerHeadLength);
            _output.Advance(WebSocketFraming.WriteHead(head, opcode, fin: true, compressed: true, length));
            _output.Write(buffer.AsSpan(WebSocketFraming.MaxServerHeadLength, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // The compressed frame of a shared message, made once: head and compressed bytes in one array of their own.
    private static byte[] CompressFrame(PerMessageDeflate deflate, byte opcode, ReadOnlySpan<byte> payload)
    {
        var deflater = MessageDeflater.Rent(deflate.ServerWindowBits);
        var (buffer, length) = deflater.Compress(payload, WebSocketFraming.MaxServerHeadLength, forget: true);
        MessageDeflater.Return(deflater);
        try
        {
            deflate.Compressed?.Invoke(payload.Length, length);
            var headLength = WebSocketFraming.HeadLength(length);
            var frame = new byte[headLength + length];
            WebSocketFraming.WriteHead(frame, opcode, fin: true, compressed: true, length);
            buffer.AsSpan(WebSocketFraming.MaxServerHeadLength, length).CopyTo(frame.AsSpan(headLength));
            return frame;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public override async ValueTask PingAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            EnsureWritable();
            _output.Write(PingFrame);
            await FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override ValueTask CloseAsync(int status, string reason) => WriteCloseAsync(status, reason);

    private async ValueTask WriteCloseAsync(int status, string reason)
    {
        await _writeLock.WaitAsync();
        try
        {
            if (_closeSent)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(_stopped, this);
            _closeSent = true;
            Interlocked.CompareExchange(ref _sentCloseStatus, status, 0);
            var span = _output.GetSpan(2 + WebSocketFraming.MaxControlPayload);
            var length = WebSocketFraming.WriteClosePayload(span[2..], status, reason);
            WebSocketFraming.WriteHead(span, WebSocketFraming.Close, fin: true, compressed: false, length);
            _output.Advance(2 + length);
            await FlushAsync();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        if (_closeSent)
        {
            throw new WebSocketException(WebSocketError.InvalidState, "The close frame was sent: no more messages may follow it.");
        }
    }

    private async ValueTask FlushAsync()
    {
        var flushed = await _output.FlushAsync();
        if (flushed.IsCanceled || flushed.IsCompleted)
        {
            throw new IOException("The connection is closed.");
        }
    }

    // Aborting the framing alone leaves a read or write pending on the transport; aborting the request's transport
    // completes both, so the loops end at once.
    public override void Abort()
    {
        StopFraming();
        _output.CancelPendingFlush();
        Volatile.Read(ref _abortRequest)?.Invoke();
    }

    public override void StopFraming()
    {
        _stopped = true;
        _input.CancelPendingRead();
    }

    public override void Release() => Volatile.Write(ref _abortRequest, null);

    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        _stopped = true;
        if (_ownsPipes)
        {
            _input.Complete();
            _output.Complete();
        }
        else
        {
            _input.CancelPendingRead();
        }

        // What compression kept for this connection: a kept inflater or compressor is freed, a rented one goes back.
        if (_inflater is { } inflater)
        {
            _inflater = null;
            if (_deflate is { ClientNoContextTakeover: true })
            {
                MessageInflater.Return(inflater);
            }
            else
            {
                inflater.Dispose();
            }
        }

        _keptDeflater?.Dispose();
        _writeLock.Dispose();
    }
}
