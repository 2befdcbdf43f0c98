using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Gateway.Tests.Infrastructure;

/// <summary>One event of a Server-Sent Events stream as a client parses it; a comment line is an event with <see cref="Comment"/> set.</summary>
public sealed record SseEvent(string Type, string? Id, string Data, string? Comment = null)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement;
}

/// <summary>
/// A client of the gateway's event stream over real HTTP (<see cref="HttpClient"/>, reading the response as it streams):
/// every event goes into a queue; messages are posted to the connection's send URL with increasing <c>seq</c>.
/// </summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly Channel<SseEvent> _events = Channel.CreateUnbounded<SseEvent>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private long _seq;

    private SseClient(HttpClient http, HttpResponseMessage response)
    {
        _http = http;
        _response = response;
        _reading = ReadAsync();
    }

    public HttpResponseMessage Response => _response;

    public string Id { get; private set; } = "";

    public string SendUrl { get; private set; } = "";

    /// <summary>The id of the last event that had one, as an EventSource keeps it for its reconnect.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>Completes when the stream ends (the server closed it, or it was dropped).</summary>
    public Task Ended => _reading;

    public HttpClient Http => _http;

    /// <summary>
    /// Opens <paramref name="path"/> on <paramref name="baseUri"/>; when the answer is 200 and <paramref name="expectConnected"/>,
    /// reads events up to the connected one. With <paramref name="handler"/>, streams opened on the same one share its connections; with <paramref name="version"/>,
    /// the stream and the posts use exactly that HTTP version.
    /// </summary>
    public static async Task<SseClient> OpenAsync(Uri baseUri, string path = "/sse", Action<HttpRequestMessage>? configure = null, bool expectConnected = true, HttpMessageHandler? handler = null, Version? version = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        http.BaseAddress = baseUri;
        http.Timeout = Timeout.InfiniteTimeSpan;
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (version is not null)
        {
            http.DefaultRequestVersion = version;
            http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            request.Version = version;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        configure?.Invoke(request);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        var client = new SseClient(http, response);
        if (response.StatusCode == HttpStatusCode.OK && expectConnected)
        {
            await client.ReadConnectedAsync();
        }

        return client;
    }

    /// <summary>Reads events until the connected one (the ones before it are returned), and takes its id and send URL.</summary>
    public async Task<List<SseEvent>> ReadConnectedAsync()
    {
        var before = new List<SseEvent>();
        while (true)
        {
            var e = await NextAsync();
            if (e.Type == "connected")
            {
                Id = e.Json.GetProperty("connectionId").GetString()!;
                SendUrl = e.Json.GetProperty("sendUrl").GetString()!;
                _seq = 0;
                return before;
            }

            before.Add(e);
        }
    }

    /// <summary>Takes the connection another stream had (a resume): its id, send URL and the sequence numbers used.</summary>
    public void ContinueFrom(SseClient earlier)
    {
        Id = earlier.Id;
        SendUrl = earlier.SendUrl;
        _seq = earlier._seq;
    }

    /// <summary>The next event that is not a comment.</summary>
    public async Task<SseEvent> NextAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            var e = await _events.Reader.ReadAsync().AsTask().WithTimeout(timeout);
            if (e.Comment is null)
            {
                return e;
            }
        }
    }

    /// <summary>The next event, comments included.</summary>
    public Task<SseEvent> NextOrCommentAsync(TimeSpan? timeout = null) => _events.Reader.ReadAsync().AsTask().WithTimeout(timeout);

    /// <summary>The data of the next event, which must be a data message (no event name).</summary>
    public async Task<string> ReceiveTextAsync()
    {
        var e = await NextAsync();
        Assert.Equal("message", e.Type);
        return e.Data;
    }

    /// <summary>Posts the next message (text, or binary as application/octet-stream).</summary>
    public Task<HttpResponseMessage> SendAsync(string text) => PostAsync(++_seq, new StringContent(text, Encoding.UTF8, "text/plain"));

    public Task<HttpResponseMessage> SendBinaryAsync(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return PostAsync(++_seq, content);
    }

    /// <summary>Posts with an explicit <paramref name="seq"/> (the next one is not moved).</summary>
    public Task<HttpResponseMessage> PostAsync(long seq, HttpContent content) =>
        _http.PostAsync(SendUrl + "&seq=" + seq, content).WithTimeout();

    /// <summary>Closes the connection the way a client does: DELETE of its send URL.</summary>
    public Task<HttpResponseMessage> CloseAsync() => _http.DeleteAsync(SendUrl).WithTimeout();

    private async Task ReadAsync()
    {
        try
        {
            await using var stream = await _response.Content.ReadAsStreamAsync(_stop.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            string? type = null;
            string? id = null;
            var data = new List<string>();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data.Count > 0)
                    {
                        LastEventId = id ?? LastEventId;
                        _events.Writer.TryWrite(new SseEvent(type ?? "message", id, string.Join('\n', data)));
                    }

                    type = null;
                    id = null;
                    data.Clear();
                }
                else if (line.StartsWith(':'))
                {
                    _events.Writer.TryWrite(new SseEvent("comment", null, "", line[1..].Trim()));
                }
                else
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    var field = colon < 0 ? line : line[..colon];
                    var value = colon < 0 ? "" : line[(colon + 1)..];
                    value = value.StartsWith(' ') ? value[1..] : value;
                    switch (field)
                    {
                        case "event": type = value; break;
                        case "id": id = value; break;
                        case "data": data.Add(value); break;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or HttpRequestException or ObjectDisposedException)
        {
            // Dropped: the test sees the queue end.
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    /// <summary>Drops the stream without a close, as a client whose network went away.</summary>
    public async Task DropAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reading.WaitAsync(Wait.Default);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reading.WaitAsync(Wait.Default).ConfigureAwait(false);
        _http.Dispose();
        _stop.Dispose();
    }
}
