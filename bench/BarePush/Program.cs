// The baseline for the push benchmark: an HTTP POST whose body is written straight to a WebSocket the
// app holds. Each socket gets a number, sent as its first frame; one lock per socket keeps writes whole.
using System.Collections.Concurrent;
using System.Net.WebSockets;

var sockets = new ConcurrentDictionary<int, (WebSocket Socket, SemaphoreSlim Lock)>();
var next = 0;
var app = WebApplication.CreateSlimBuilder(args).Build();
app.UseWebSockets();
app.MapGet("/healthz", () => "Healthy");
app.Map("/", async context =>
{
    using var ws = await context.WebSockets.AcceptWebSocketAsync();
    var id = Interlocked.Increment(ref next);
    using var sendLock = new SemaphoreSlim(1, 1);
    sockets[id] = (ws, sendLock);
    await ws.SendAsync(System.Text.Encoding.UTF8.GetBytes($"{{\"type\":\"connected\",\"connectionId\":\"{id}\"}}"), WebSocketMessageType.Text, true, default);
    var buffer = new byte[16];
    while ((await ws.ReceiveAsync(buffer.AsMemory(), default)).MessageType != WebSocketMessageType.Close)
    {
    }

    sockets.TryRemove(id, out _);
    await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, default);
});
app.MapPost("/push/{id:int}", async (int id, HttpRequest request) =>
{
    if (!sockets.TryGetValue(id, out var target))
    {
        return Results.StatusCode(410);
    }

    using var body = new MemoryStream();
    await request.Body.CopyToAsync(body);
    await target.Lock.WaitAsync();
    try
    {
        await target.Socket.SendAsync(body.GetBuffer().AsMemory(0, (int)body.Length), WebSocketMessageType.Text, true, default);
    }
    finally
    {
        target.Lock.Release();
    }

    return Results.Ok();
});
app.Run();
