using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using System.Net.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// Takes WebSocket handshakes at the connection level, before the web server's HTTP layer: a plain HTTP/1.1
/// upgrade to <c>/</c> or <c>/{Stage}</c> is answered here and the WebSocket runs straight on the connection's
/// transport, so an upgraded connection keeps none of the HTTP request's state (its connection object, header
/// collections, request pipes and context), which is most of the memory an idle WebSocket costs. Every other
/// request, and anything this reader does not take, goes to the web server untouched. So does an HTTP/2 connection
/// (ALPN <c>h2</c>, an HTTP/2-only listener, or the cleartext preface <c>PRI * HTTP/2.0</c>, which is no handshake
/// head): its WebSockets are extended CONNECT streams (RFC 8441), answered by the gateway's endpoints.
/// </summary>
internal sealed partial class HandshakeConnectionMiddleware(ConnectionDelegate next, IServiceProvider services, ListenOptions? listen = null)
{
    private static readonly byte[] TimeoutResponse = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();
    private HandshakeSetup? _setup;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        // One frame stays alive for an upgraded connection: the head and the handshake's context are gone once it runs.
        var setup = _setup ??= new HandshakeSetup(services);
        var (passOn, session) = await AcceptAsync(connection, setup);
        if (passOn)
        {
            await next(connection);
        }
        else if (session is not null)
        {
            await setup.Clients.RunAsync(session);
        }
    }

    private async Task<(bool PassOn, UpgradedConnection? Session)> AcceptAsync(ConnectionContext connection, HandshakeSetup setup)
    {
        HandshakeRequestHead? head;
        HeadOutcome outcome;
        try
        {
            (outcome, head) = await ReadHeadAsync(connection, setup);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
        {
            return (false, null);
        }

        switch (outcome)
        {
            case HeadOutcome.PassOn:
                return (true, null);
            case HeadOutcome.Close:
                return (false, null);
            case HeadOutcome.TimedOut:
                // The head did not arrive within Kestrel's RequestHeadersTimeout: answered as the web server would.
                try
                {
                    await connection.Transport.Output.WriteAsync(TimeoutResponse);
                }
                catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
                {
                    // Gone already.
                }

                return (false, null);
        }

        if (head is null)
        {
            return (false, null);
        }

        var features = new HandshakeFeatures(connection, head, services);
        UpgradedConnection? session = null;
        try
        {
            session = await setup.Clients.AcceptAsync(new DefaultHttpContext(features.Collection), head.Stage);
        }
        catch (OperationCanceledException) when (connection.ConnectionClosed.IsCancellationRequested)
        {
            // The client left during the handshake (an authorizer or $connect still running): nobody to answer.
            Log.HandshakeAbandoned(setup.Logger, connection.ConnectionId);
            return (false, null);
        }
        catch (Exception ex)
        {
            Log.HandshakeFailed(setup.Logger, ex, connection.ConnectionId);
            if (!features.HasStarted)
            {
                features.StatusCode = StatusCodes.Status500InternalServerError;
                features.ResponseHeaders.Clear();
                features.Body.SetLength(0);
            }
        }

        if (!features.HasStarted)
        {
            await features.WriteResponseAsync();
        }

        return (false, session);
    }

    /// <summary>True when the connection speaks HTTP/2 from its first byte: TLS negotiated <c>h2</c>, or the listener takes nothing else.</summary>
    private bool IsHttp2(ConnectionContext connection) =>
        listen?.Protocols == HttpProtocols.Http2
        || connection.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ITlsApplicationProtocolFeature>()?.ApplicationProtocol.Span.SequenceEqual(SslApplicationProtocol.Http2.Protocol.Span) == true;

    private async ValueTask<(HeadOutcome Outcome, HandshakeRequestHead? Head)> ReadHeadAsync(ConnectionContext connection, HandshakeSetup setup)
    {
        if (setup.PassEverything || IsHttp2(connection))
        {
            return (HeadOutcome.PassOn, null);
        }

        // Kestrel's own limits, on the clock Kestrel keeps them with (real time): until the first byte its keep-alive
        // timeout (a connection that says nothing is closed without an answer), then its request headers timeout (408).
        // A shutdown closes a connection still waiting for its head at once, as Kestrel does.
        var input = connection.Transport.Input;
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(closing);
        timeout.CancelAfter(HandshakeSetup.Timer(setup.Limits.KeepAliveTimeout));
        var started = false;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                return (started && !closing.IsCancellationRequested ? HeadOutcome.TimedOut : HeadOutcome.Close, null);
            }

            var buffer = result.Buffer;
            if (!started && !buffer.IsEmpty)
            {
                started = true;
                timeout.CancelAfter(HandshakeSetup.Timer(setup.Limits.RequestHeadersTimeout));
            }

            switch (HandshakeRequestHead.TryRead(buffer, setup.Stage, setup.HeadLimits, out var head, out var length))
            {
                case HeadVerdict.Handshake when setup.Hosts.Allows(head!.Headers["Host"].ToString()):
                    input.AdvanceTo(buffer.GetPosition(length));
                    return (HeadOutcome.Handshake, head);
                case HeadVerdict.Incomplete when !result.IsCompleted && !result.IsCanceled:
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                default:
                    // Nothing consumed and nothing examined: the web server reads the same bytes at once. That includes a
                    // handshake naming a host the application's AllowedHosts does not list: its host filtering answers.
                    input.AdvanceTo(buffer.Start);
                    return (result.IsCompleted && buffer.IsEmpty ? HeadOutcome.Close : HeadOutcome.PassOn, null);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Connection {TransportConnectionId}: the WebSocket handshake failed")]
        public static partial void HandshakeFailed(ILogger logger, Exception exception, string transportConnectionId);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Connection {TransportConnectionId}: the client left during the WebSocket handshake")]
        public static partial void HandshakeAbandoned(ILogger logger, string transportConnectionId);
    }
}
