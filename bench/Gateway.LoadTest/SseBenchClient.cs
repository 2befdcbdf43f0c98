using System.Text;
using System.Text.Json;

namespace Gateway.LoadTest;

/// <summary>One load-generating client of the gateway's Server-Sent Events stream (<c>GET /sse</c>), reading the events as they come.</summary>
public sealed class SseBenchClient : IBenchClient
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = int.MaxValue })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly HttpResponseMessage _response;
    private readonly Stream _stream;
    private byte[] _buffer = new byte[1024];
    private int _start;
    private int _end;

    private SseBenchClient(HttpResponseMessage response, Stream stream)
    {
        _response = response;
        _stream = stream;
    }

    public string Id { get; private set; } = "";

    /// <summary>The stream's URL of a gateway's WebSocket URL: <c>ws://host:port/</c> → <c>http://host:port/sse</c>.</summary>
    public static Uri StreamUri(Uri webSocketUri) => new($"http://{webSocketUri.Authority}/sse");

    public static async Task<SseBenchClient> ConnectAsync(Uri webSocketUri)
    {
        var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, StreamUri(webSocketUri)), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        var client = new SseBenchClient(response, await response.Content.ReadAsStreamAsync());
        using var connected = JsonDocument.Parse(await client.ReceiveAsync(CancellationToken.None));
        client.Id = connected.RootElement.GetProperty("connectionId").GetString() ?? "";
        return client;
    }

    /// <summary>Connects <paramref name="count"/> clients, <paramref name="parallel"/> at a time.</summary>
    public static async Task<SseBenchClient[]> ConnectManyAsync(Uri webSocketUri, int count, int parallel = 64)
    {
        var clients = new SseBenchClient[count];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(parallel, count)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                clients[i] = await ConnectAsync(webSocketUri);
            }
        }));
        return clients;
    }

    /// <summary>The data of the next event (its one <c>data:</c> line); comments are skipped. Valid until the next receive.</summary>
    public async Task<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var blank = _buffer.AsSpan(_start, _end - _start).IndexOf("\n\n"u8);
            if (blank >= 0)
            {
                var eventStart = _start;
                _start += blank + 2;
                var block = _buffer.AsMemory(eventStart, blank);
                var data = block.Span.IndexOf("data: "u8);
                if (data < 0)
                {
                    continue; // a comment
                }

                var rest = block[(data + 6)..];
                var lineEnd = rest.Span.IndexOf((byte)'\n');
                return lineEnd < 0 ? rest : rest[..lineEnd];
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new IOException("the stream ended: " + Encoding.UTF8.GetString(_buffer, 0, _end));
            }

            _end += read;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _response.Dispose();
    }
}
