using System.IO.Pipelines;
using System.Net;
using System.Text;
using Gateway.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

/// <summary>
/// Takes WebSocket handshakes at the connection level, before the web server's HTTP layer: a plain HTTP/1.1
/// upgrade to <c>/</c> or <c>/{Stage}</c> is answered here and the WebSocket runs straight on the connection's
/// transport, so an upgraded connection keeps none of the HTTP request's state (its connection object, header
/// collections, request pipes and context), which is most of the memory an idle WebSocket costs. Every other
/// request, and anything this reader does not take, goes to the web server untouched.
/// </summary>
internal sealed partial class HandshakeConnectionMiddleware(ConnectionDelegate next, IServiceProvider services)
{
    private static readonly byte[] TimeoutResponse = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();
    private Setup? _setup;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        // One frame stays alive for an upgraded connection: the head and the handshake's context are gone once it runs.
        var setup = _setup ??= new Setup(services);
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

    private async Task<(bool PassOn, UpgradedConnection? Session)> AcceptAsync(ConnectionContext connection, Setup setup)
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

    private static async ValueTask<(HeadOutcome Outcome, HandshakeRequestHead? Head)> ReadHeadAsync(ConnectionContext connection, Setup setup)
    {
        if (setup.PassEverything)
        {
            return (HeadOutcome.PassOn, null);
        }

        // Kestrel's own limits, on the clock Kestrel keeps them with (real time): until the first byte its keep-alive
        // timeout (a connection that says nothing is closed without an answer), then its request headers timeout (408).
        // A shutdown closes a connection still waiting for its head at once, as Kestrel does.
        var input = connection.Transport.Input;
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(closing);
        timeout.CancelAfter(Setup.Timer(setup.Limits.KeepAliveTimeout));
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
                timeout.CancelAfter(Setup.Timer(setup.Limits.RequestHeadersTimeout));
            }

            switch (HandshakeRequestHead.TryRead(buffer, setup.Stage, setup.HeadLimits, out var head, out var length))
            {
                case HeadVerdict.Handshake when setup.AllowsHost(head!.Headers["Host"].ToString()):
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

    private enum HeadOutcome
    {
        Handshake,
        PassOn,
        TimedOut,
        Close,
    }

    /// <summary>What every connection needs, resolved on the first connection (the services exist by then).</summary>
    private sealed class Setup
    {
        private static readonly TimeSpan LongestTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);
        private readonly string[] _allowedHosts;

        public Setup(IServiceProvider services)
        {
            Limits = services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
            Clients = services.GetRequiredService<ClientLifecycle>();
            Stage = services.GetRequiredService<IOptions<GatewayOptions>>().Value.Stage;
            Logger = services.GetRequiredService<ILogger<HandshakeConnectionMiddleware>>();
            HeadLimits = HandshakeRequestHead.HeadLimits.Within(Limits);

            // With Kestrel's own cap on upgraded connections, every upgrade goes through Kestrel, which counts them.
            PassEverything = Limits.MaxConcurrentUpgradedConnections is not null;
            var hosts = services.GetService<IOptions<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>>()?.Value.AllowedHosts ?? [];
            _allowedHosts = hosts.Contains("*") ? [] : [.. hosts];
        }

        public KestrelServerLimits Limits { get; }

        public ClientLifecycle Clients { get; }

        public string Stage { get; }

        public ILogger Logger { get; }

        public HandshakeRequestHead.HeadLimits HeadLimits { get; }

        public bool PassEverything { get; }

        /// <summary>A Kestrel timeout as a timer's due time: anything past a timer's range (Kestrel's "infinite") never fires.</summary>
        public static TimeSpan Timer(TimeSpan timeout) => timeout >= LongestTimer || timeout < TimeSpan.Zero ? Timeout.InfiniteTimeSpan : timeout;

        /// <summary>True when the application's <c>AllowedHosts</c> admits <paramref name="host"/> (or lists no hosts).</summary>
        public bool AllowsHost(string host)
        {
            if (_allowedHosts.Length == 0)
            {
                return true;
            }

            // The host without its port: "name:port", "[v6]:port".
            var name = host.StartsWith('[') ? host[..(host.IndexOf(']', StringComparison.Ordinal) + 1)]
                : host.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? host[..colon] : host;
            foreach (var allowed in _allowedHosts)
            {
                if (allowed.StartsWith("*.", StringComparison.Ordinal)
                    ? name.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase)
                    : name.Equals(allowed, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Connection {TransportConnectionId}: the WebSocket handshake failed")]
        public static partial void HandshakeFailed(ILogger logger, Exception exception, string transportConnectionId);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Connection {TransportConnectionId}: the client left during the WebSocket handshake")]
        public static partial void HandshakeAbandoned(ILogger logger, string transportConnectionId);
    }

    /// <summary>
    /// The request and response of one handshake, as the features of an <see cref="HttpContext"/>: the request head
    /// that was read, a response written here (101 on the upgrade; the status, headers and body of a refusal
    /// otherwise), and the connection's transport as the upgraded stream.
    /// </summary>
    private sealed class HandshakeFeatures :
        IHttpRequestFeature, IHttpResponseFeature, IHttpResponseBodyFeature, IHttpConnectionFeature, IHttpUpgradeFeature,
        IServiceProvidersFeature, IHttpRequestIdentifierFeature
    {
        private readonly ConnectionContext _connection;
        private MemoryStream? _body;
        private PipeWriter? _bodyWriter;

        public HandshakeFeatures(ConnectionContext connection, HandshakeRequestHead head, IServiceProvider services)
        {
            _connection = connection;
            Scheme = connection.Features.Get<ITlsHandshakeFeature>() is null ? "http" : "https";
            Path = head.Path;
            QueryString = head.QueryString;
            RawTarget = head.RawTarget;
            Headers = head.Headers;
            RequestServices = services;
            TraceIdentifier = connection.ConnectionId;
            ConnectionId = connection.ConnectionId;
            if (connection.RemoteEndPoint is IPEndPoint remote)
            {
                RemoteIpAddress = remote.Address;
                RemotePort = remote.Port;
            }

            if (connection.LocalEndPoint is IPEndPoint local)
            {
                LocalIpAddress = local.Address;
                LocalPort = local.Port;
            }

            Collection = new FeatureCollection(10);
            Collection.Set<IHttpRequestFeature>(this);
            Collection.Set<IHttpResponseFeature>(this);
            Collection.Set<IHttpResponseBodyFeature>(this);
            Collection.Set<IHttpConnectionFeature>(this);
            Collection.Set<IHttpUpgradeFeature>(this);
            Collection.Set<IHttpRequestLifetimeFeature>(new TransportLifetime(connection));
            Collection.Set<IServiceProvidersFeature>(this);
            Collection.Set<IHttpRequestIdentifierFeature>(this);
        }

        public FeatureCollection Collection { get; }

        public MemoryStream Body => _body ??= new MemoryStream();

        // ---- Request ----
        public string Protocol { get; set; } = "HTTP/1.1";
        public string Scheme { get; set; }
        public string Method { get; set; } = HttpMethods.Get;
        public string PathBase { get; set; } = "";
        public string Path { get; set; }
        public string QueryString { get; set; }
        public string RawTarget { get; set; }
        public IHeaderDictionary Headers { get; set; }
        Stream IHttpRequestFeature.Body { get; set; } = Stream.Null;

        // ---- Response ----
        public int StatusCode { get; set; } = StatusCodes.Status200OK;
        public string? ReasonPhrase { get; set; }
        public IHeaderDictionary ResponseHeaders { get; set; } = new HeaderDictionary();
        IHeaderDictionary IHttpResponseFeature.Headers { get => ResponseHeaders; set => ResponseHeaders = value; }
        Stream IHttpResponseFeature.Body { get => Body; set => throw new NotSupportedException(); }
        public bool HasStarted { get; private set; }

        public void OnStarting(Func<object, Task> callback, object state)
        {
        }

        public void OnCompleted(Func<object, Task> callback, object state)
        {
        }

        Stream IHttpResponseBodyFeature.Stream => Body;
        PipeWriter IHttpResponseBodyFeature.Writer => _bodyWriter ??= PipeWriter.Create(Body, new StreamPipeWriterOptions(leaveOpen: true));

        void IHttpResponseBodyFeature.DisableBuffering()
        {
        }

        Task IHttpResponseBodyFeature.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        Task IHttpResponseBodyFeature.SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        Task IHttpResponseBodyFeature.CompleteAsync() => Task.CompletedTask;

        // ---- Connection ----
        public string ConnectionId { get; set; }
        public IPAddress? RemoteIpAddress { get; set; }
        public IPAddress? LocalIpAddress { get; set; }
        public int RemotePort { get; set; }
        public int LocalPort { get; set; }

        // ---- Services, identifier ----
        public IServiceProvider RequestServices { get; set; }
        public string TraceIdentifier { get; set; }

        // ---- Upgrade ----
        public bool IsUpgradableRequest => !HasStarted;

        public async Task<Stream> UpgradeAsync()
        {
            if (HasStarted)
            {
                throw new InvalidOperationException("The handshake has been answered already.");
            }

            StatusCode = StatusCodes.Status101SwitchingProtocols;
            await WriteHeadAsync(contentLength: null);
            HasStarted = true;
            return new Connections.ConnectionStream(_connection.Transport);
        }

        /// <summary>Writes a refusal (or a 426): its status, headers and body, then the connection closes.</summary>
        public async Task WriteResponseAsync()
        {
            if (_bodyWriter is not null)
            {
                await _bodyWriter.FlushAsync();
            }

            HasStarted = true;
            var length = _body?.Length ?? 0;
            try
            {
                await WriteHeadAsync(length);
                if (length > 0)
                {
                    await _connection.Transport.Output.WriteAsync(_body!.GetBuffer().AsMemory(0, (int)length));
                }
            }
            catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
            {
                // The client left before its answer.
            }
        }

        private async Task WriteHeadAsync(long? contentLength)
        {
            var head = new StringBuilder(256);
            head.Append("HTTP/1.1 ").Append(StatusCode).Append(' ').Append(ReasonPhrase ?? ReasonPhrases.GetReasonPhrase(StatusCode)).Append("\r\n");
            foreach (var (name, values) in ResponseHeaders)
            {
                if (contentLength is not null && (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)))
                {
                    continue;
                }

                foreach (var value in values)
                {
                    // Response headers are set by this library only; a line break in one would be a defect, never sent.
                    if (value is not null && !value.AsSpan().ContainsAny('\r', '\n'))
                    {
                        head.Append(name).Append(": ").Append(value).Append("\r\n");
                    }
                }
            }

            if (contentLength is { } length)
            {
                head.Append("Content-Length: ").Append(length).Append("\r\nConnection: close\r\n");
            }

            head.Append("\r\n");
            var bytes = Encoding.ASCII.GetBytes(head.ToString());
            await _connection.Transport.Output.WriteAsync(bytes);
        }
    }

    /// <summary>The request lifetime of a handshake: the transport's. An upgraded connection keeps this, and only this, to abort with.</summary>
    private sealed class TransportLifetime(ConnectionContext connection) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; } = connection.ConnectionClosed;

        public void Abort() => connection.Abort(new ConnectionAbortedException("The WebSocket connection was aborted."));
    }
}
