using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Gateway.Tests.Infrastructure;

public sealed record Frame(WebSocketMessageType Type, byte[] Data, int? CloseStatus = null, string? CloseReason = null)
{
    public string Text => Encoding.UTF8.GetString(Data);
}

/// <summary>A <see cref="ClientWebSocket"/> whose frames are read into a queue as they arrive.</summary>
public sealed class TestClient : IAsyncDisposable
{
    private readonly Channel<Frame> _frames = Channel.CreateUnbounded<Frame>();
    private readonly TaskCompletionSource<Frame> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestClient(ClientWebSocket socket)
    {
        Socket = socket;
        _ = ReceiveLoopAsync();
    }

    public ClientWebSocket Socket { get; }

    public string Id { get; private set; } = "";

    /// <summary>Completes with the close frame (or an abort, status null) when the connection ends.</summary>
    public Task<Frame> Closed => _closed.Task;

    public static async Task<TestClient> ConnectAsync(Uri uri, bool expectConnectedFrame = true, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        configure?.Invoke(socket.Options);
        using var cts = new CancellationTokenSource(Wait.Default);
        await socket.ConnectAsync(uri, cts.Token);
        var client = new TestClient(socket);
        if (expectConnectedFrame)
        {
            using var doc = JsonDocument.Parse((await client.ReceiveAsync()).Data);
            Assert.Equal("connected", doc.RootElement.GetProperty("type").GetString());
            client.Id = doc.RootElement.GetProperty("connectionId").GetString()!;
        }

        return client;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                using var message = new MemoryStream();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await Socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var close = new Frame(WebSocketMessageType.Close, [], (int?)Socket.CloseStatus, Socket.CloseStatusDescription);
                    _frames.Writer.TryWrite(close);
                    _closed.TrySetResult(close);
                    if (Socket.State == WebSocketState.CloseReceived)
                    {
                        await Socket.CloseOutputAsync(Socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                    }

                    break;
                }

                _frames.Writer.TryWrite(new Frame(result.MessageType, message.ToArray()));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _closed.TrySetResult(new Frame(WebSocketMessageType.Close, [], null, ex.Message));
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async Task<Frame> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait.Default);
        return await _frames.Reader.ReadAsync(cts.Token);
    }

    public async Task<string> ReceiveTextAsync(TimeSpan? timeout = null)
    {
        var frame = await ReceiveAsync(timeout);
        Assert.True(frame.Type == WebSocketMessageType.Text, $"expected a text frame, got {frame.Type} {frame.CloseStatus} {frame.CloseReason}");
        return frame.Text;
    }

    /// <summary>True when a frame has already arrived and is waiting to be read.</summary>
    public bool HasFrame => _frames.Reader.TryPeek(out _);

    public Task SendTextAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    public Task SendAsync(byte[] data, WebSocketMessageType type)
    {
        using var cts = new CancellationTokenSource(Wait.Default);
        return Socket.SendAsync(data, type, true, cts.Token);
    }

    public async Task<Frame> CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string reason = "bye")
    {
        using var cts = new CancellationTokenSource(Wait.Default);
        await Socket.CloseOutputAsync(status, reason, cts.Token);
        return await Closed.WithTimeout();
    }

    public async ValueTask DisposeAsync()
    {
        Socket.Abort();
        Socket.Dispose();
        await Task.CompletedTask;
    }
}
