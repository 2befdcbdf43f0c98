using System.Buffers;
using System.Net.WebSockets;

namespace Gateway.Connections;

/// <summary>
/// A client's upgraded WebSocket: the framing runs over <see cref="ConnectionStream"/>, which also writes pings, notes
/// inbound bytes and records the close frames the framing writes on its own.
/// </summary>
internal sealed class WebSocketTransport : ClientTransport
{
    private const int InitialReceiveBuffer = 4096;

    private readonly WebSocket _socket;
    private readonly ConnectionStream _stream;
    private Action? _abortRequest;

    /// <summary>Runs over <paramref name="stream"/>; <paramref name="abortRequest"/> ends the request the upgrade came from.</summary>
    public WebSocketTransport(ConnectionStream stream, string? subProtocol, Action abortRequest)
    {
        _stream = stream;
        _abortRequest = abortRequest;
        _socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subProtocol,
            KeepAliveInterval = TimeSpan.Zero, // pings come from the sweeper, on the injected clock
        });
    }

    public override bool InboundSeen => _stream.InboundSeen;

    public override void ResetInbound() => _stream.ResetInbound();

    public override int ProtocolCloseStatus => _stream.SentCloseStatus;

    public override bool CanSendClose => _socket.State is WebSocketState.Open or WebSocketState.CloseReceived;

    public override bool PeerClosed => _socket.State is WebSocketState.CloseReceived or WebSocketState.Closed;

    public override async Task ReceiveAsync(ITransportSink sink)
    {
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                // A zero-byte receive waits for the next frame without holding a buffer, so an idle
                // connection keeps none; one is rented only while a message is being assembled.
                var result = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    OnPeerClose(sink);
                    return;
                }

                var max = sink.MaxMessageBytes;
                var binary = result.MessageType == WebSocketMessageType.Binary;
                var discard = sink.Discarding;
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

                    result = await _socket.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        OnPeerClose(sink);
                        return;
                    }

                    count += result.Count;
                    if (count > max && !discard)
                    {
                        sink.MessageTooBig(max);
                        discard = true;
                        count = 0;
                    }
                }

                if (!discard)
                {
                    await sink.OnMessageAsync(buffer.AsMemory(0, count), binary);
                }

                var done = buffer;
                buffer = null;
                ArrayPool<byte>.Shared.Return(done);
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void OnPeerClose(ITransportSink sink) =>
        sink.OnPeerClose((int?)_socket.CloseStatus ?? CloseCodes.NoStatus, _socket.CloseStatusDescription ?? "");

    public override ValueTask SendAsync(OutboundMessage message, bool flush) =>
        _socket.SendAsync(message.Payload, message.Kind == OutboundKind.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public override ValueTask PingAsync() => _stream.WritePingAsync(CancellationToken.None);

    public override ValueTask CloseAsync(int status, string reason) =>
        new(_socket.CloseOutputAsync((WebSocketCloseStatus)status, reason, CancellationToken.None));

    // Aborting the WebSocket alone leaves a read or write pending on the transport; aborting the
    // request's transport completes both, so the loops end at once.
    public override void Abort()
    {
        _socket.Abort();
        Volatile.Read(ref _abortRequest)?.Invoke();
    }

    public override void StopFraming() => _socket.Abort();

    public override void Release() => Volatile.Write(ref _abortRequest, null);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _socket.Dispose();
        }
    }
}
