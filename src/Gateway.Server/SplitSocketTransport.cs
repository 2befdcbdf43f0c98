using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Gateway.Server;

/// <summary>The endpoints of listeners that serve no clients (the management listener on its own port).</summary>
internal sealed class HandOffEndPoints
{
    private readonly List<EndPoint> _endPoints = [];

    public void Add(EndPoint endPoint)
    {
        lock (_endPoints)
        {
            _endPoints.Add(endPoint);
        }
    }

    public bool Contains(EndPoint endPoint)
    {
        lock (_endPoints)
        {
            // The very object the listener was configured with: two listeners on port 0 are equal by value.
            return _endPoints.Exists(e => ReferenceEquals(e, endPoint));
        }
    }
}

/// <summary>
/// Kestrel's socket transport twice over: client listeners with <c>Listeners:InlineScheduling</c> as configured, and the
/// management listener with the hand-off to the thread pool at every step. Measured on the push path (16 keep-alive
/// senders, <c>bench/run.sh push</c>): inline scheduling on the management listener took the push's p99 from 0.8× to
/// 6.5× the bare push app's, while on client sockets it saves CPU per message.
/// </summary>
internal sealed class SplitSocketTransport : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly SocketTransportFactory _configured;
    private readonly SocketTransportFactory _handOff;
    private readonly HandOffEndPoints _handOffEndPoints;

    public SplitSocketTransport(IOptions<SocketTransportOptions> options, ILoggerFactory loggerFactory, HandOffEndPoints handOffEndPoints)
    {
        _configured = new SocketTransportFactory(options, loggerFactory);
        var handOff = options.Value.UnsafePreferInlineScheduling ? Copy(options.Value) : options.Value;
        _handOff = new SocketTransportFactory(Options.Create(handOff), loggerFactory);
        _handOffEndPoints = handOffEndPoints;
    }

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint or UnixDomainSocketEndPoint or FileHandleEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        (_handOffEndPoints.Contains(endpoint) ? _handOff : _configured).BindAsync(endpoint, cancellationToken);

    private static SocketTransportOptions Copy(SocketTransportOptions options) => new()
    {
        IOQueueCount = options.IOQueueCount,
        WaitForDataBeforeAllocatingBuffer = options.WaitForDataBeforeAllocatingBuffer,
        NoDelay = options.NoDelay,
        Backlog = options.Backlog,
        MaxReadBufferSize = options.MaxReadBufferSize,
        MaxWriteBufferSize = options.MaxWriteBufferSize,
        CreateBoundListenSocket = options.CreateBoundListenSocket,
        UnsafePreferInlineScheduling = false,
    };
}
