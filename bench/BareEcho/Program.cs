// The baseline for the echo and idle benchmarks: Kestrel's own WebSockets and an echo loop, nothing else.
// It waits with a zero-byte read and rents its buffer only while a message is in hand, the cheapest
// idle connection the platform offers.
using System.Buffers;
using System.Net.WebSockets;

var app = WebApplication.CreateSlimBuilder(args).Build();
app.UseWebSockets();
app.MapGet("/healthz", () => "Healthy");
app.Map("/", async context =>
{
    using var ws = await context.WebSockets.AcceptWebSocketAsync();
    while (true)
    {
        var first = await ws.ReceiveAsync(Memory<byte>.Empty, default);
        if (first.MessageType == WebSocketMessageType.Close)
        {
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, default);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var count = 0;
        var result = first;
        while (!result.EndOfMessage)
        {
            if (count == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, count).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }

            result = await ws.ReceiveAsync(buffer.AsMemory(count), default);
            count += result.Count;
        }

        await ws.SendAsync(buffer.AsMemory(0, count), result.MessageType, true, default);
        ArrayPool<byte>.Shared.Return(buffer);
    }
});
app.Run();
