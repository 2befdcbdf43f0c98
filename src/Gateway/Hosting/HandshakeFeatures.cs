using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gateway.Hosting;

/// <summary>
/// The request and response of one handshake, as the features of an <see cref="HttpContext"/>: the request head
/// that was read, a response written here (101 on the upgrade; the status, headers and body of a refusal
/// otherwise), and the connection's transport as the upgraded pipes.
/// </summary>
internal sealed class HandshakeFeatures :
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

    // The gateway's handshake takes the pipes (UpgradeToPipesAsync); a stream over them would only add a copy.
    Task<Stream> IHttpUpgradeFeature.UpgradeAsync() =>
        throw new NotSupportedException("A connection-level handshake is upgraded to the connection's pipes.");

    /// <summary>Answers 101 and hands over the connection's transport: the WebSocket runs straight on its pipes.</summary>
    public async Task<IDuplexPipe> UpgradeToPipesAsync()
    {
        if (HasStarted)
        {
            throw new InvalidOperationException("The handshake has been answered already.");
        }

        StatusCode = StatusCodes.Status101SwitchingProtocols;
        await WriteHeadAsync(contentLength: null);
        HasStarted = true;
        return _connection.Transport;
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

    private async Task WriteHeadAsync(long? contentLength) =>
        await _connection.Transport.Output.WriteAsync(HandshakeResponseHead.Format(StatusCode, ReasonPhrase, ResponseHeaders, contentLength));
}
