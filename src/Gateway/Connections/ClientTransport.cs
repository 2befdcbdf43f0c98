namespace Gateway.Connections;

/// <summary>
/// The wire under a connection: the WebSocket a client upgraded to, or another transport that carries the same frames.
/// A connection reads through it in one receive loop and writes through it from one writer loop, so an implementation
/// sees at most one read and one write at a time; <see cref="Abort"/> may come from any thread.
/// </summary>
internal abstract class ClientTransport : IDisposable
{
    /// <summary>True when bytes arrived since <see cref="ResetInbound"/> was last called (a pong or any data proves the peer alive).</summary>
    public abstract bool InboundSeen { get; }

    /// <summary>Starts watching for inbound bytes afresh (called when a ping is queued).</summary>
    public abstract void ResetInbound();

    /// <summary>The status of a close frame the transport wrote on its own for a fault of the peer's (1002, 1007), or 0.</summary>
    public abstract int ProtocolCloseStatus { get; }

    /// <summary>True while a close frame may still be written: the wire is open, or the peer's close has not been answered.</summary>
    public abstract bool CanSendClose { get; }

    /// <summary>True when the peer's close frame arrived.</summary>
    public abstract bool PeerClosed { get; }

    /// <summary>
    /// Reads messages until the peer closes (<see cref="ITransportSink.OnPeerClose"/>) or the wire fails (the exception
    /// propagates: <see cref="System.Net.WebSockets.WebSocketException"/>, <see cref="IOException"/>,
    /// <see cref="OperationCanceledException"/> or <see cref="ObjectDisposedException"/>).
    /// </summary>
    public abstract Task ReceiveAsync(ITransportSink sink);

    /// <summary>Writes one message. <paramref name="flush"/> is false when more messages follow at once, so that they may share a flush.</summary>
    public abstract ValueTask SendAsync(OutboundMessage message, bool flush);

    /// <summary>
    /// Asked by the sweeper (with its clock's now, in ticks): true when the wire needs a write to stay open through
    /// proxies that close idle streams; a ping is then queued. A WebSocket's own pings do that, so by default never.
    /// </summary>
    public virtual bool KeepAliveDue(long now) => false;

    /// <summary>Writes a ping between whole messages.</summary>
    public abstract ValueTask PingAsync();

    /// <summary>Writes the close frame.</summary>
    public abstract ValueTask CloseAsync(int status, string reason);

    /// <summary>Drops the wire at once: pending reads and writes end.</summary>
    public abstract void Abort();

    /// <summary>
    /// The read side failed: stops the framing but leaves the wire to end with its request, so that a close frame the
    /// transport wrote for the peer's fault (1002, 1007) is still flushed.
    /// </summary>
    public abstract void StopFraming();

    /// <summary>Called when the connection has finished with the wire: an abort after this no longer reaches the request it came from.</summary>
    public abstract void Release();

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the wire.</summary>
    protected abstract void Dispose(bool disposing);
}

/// <summary>What a transport's receive loop hands each message to: the connection, which applies its limits.</summary>
internal interface ITransportSink
{
    /// <summary>The largest message accepted, read for each message so that a reload applies from the next one.</summary>
    int MaxMessageBytes { get; }

    /// <summary>True once the connection is closing: messages are still read (to reach the peer's close) but dropped.</summary>
    bool Discarding { get; }

    /// <summary>A message grew past <paramref name="max"/> bytes: the connection closes with 1009; the rest of it is read and dropped.</summary>
    void MessageTooBig(int max);

    /// <summary>One complete message; <paramref name="body"/> is reused once the returned task completes.</summary>
    ValueTask OnMessageAsync(ReadOnlyMemory<byte> body, bool binary);

    /// <summary>The peer's close frame (1005 when it carried no status).</summary>
    void OnPeerClose(int status, string reason);
}
