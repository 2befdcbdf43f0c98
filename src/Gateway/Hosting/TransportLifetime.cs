using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Hosting;

/// <summary>The request lifetime of a handshake: the transport's. An upgraded connection keeps this, and only this, to abort with.</summary>
internal sealed class TransportLifetime(ConnectionContext connection) : IHttpRequestLifetimeFeature
{
    public CancellationToken RequestAborted { get; set; } = connection.ConnectionClosed;

    public void Abort() => connection.Abort(new ConnectionAbortedException("The WebSocket connection was aborted."));
}
