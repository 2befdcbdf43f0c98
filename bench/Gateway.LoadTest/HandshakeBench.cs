using System.Diagnostics;
using System.Net.WebSockets;

namespace Gateway.LoadTest;

/// <summary>
/// C workers each open a WebSocket (with a JWT in <c>?token=</c> against a gateway with JWT authentication), wait for
/// the connected frame, close it, and start over: opening handshakes per second and server CPU per handshake. Against
/// a JWT target every handshake presents a token of its own, from a pool signed before the run starts.
/// </summary>
public static class HandshakeBench
{
    public static async Task<RunResult> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var pool = server.Target switch
        {
            // Sized for a rate well above any measured so far over warm-up, window and the last handshakes in flight;
            // should it run out, tokens are presented again and the repeats are counted and reported.
            Target.GatewayJwt => BenchTokens.Distinct(rsa: false, 12_000 * (int)(settings.Warmup + settings.Duration + TimeSpan.FromSeconds(2)).TotalSeconds),
            Target.GatewayJwtRsa => BenchTokens.Distinct(rsa: true, 6_000 * (int)(settings.Warmup + settings.Duration + TimeSpan.FromSeconds(2)).TotalSeconds),
            _ => null,
        };
        var uris = pool?.Select(t => new Uri(server.ClientUri, "?token=" + t)).ToArray();
        long issued = -1;
        var measuring = false;
        var stop = false;
        var latency = new Latency();
        long count = 0;
        long failed = 0;
        var loops = Enumerable.Range(0, settings.Connections).Select(async _ =>
        {
            var local = new List<long>();
            var receive = new byte[512];
            while (!Volatile.Read(ref stop))
            {
                var uri = server.ClientUri;
                if (uris is not null)
                {
                    var next = Interlocked.Increment(ref issued);
                    uri = uris[next % uris.Length];
                }

                var started = Stopwatch.GetTimestamp();
                using var socket = new ClientWebSocket();
                socket.Options.KeepAliveInterval = TimeSpan.Zero;
                try
                {
                    await socket.ConnectAsync(uri, CancellationToken.None);
                    if (server.SendsConnectedFrame)
                    {
                        await socket.ReceiveAsync(receive.AsMemory(), CancellationToken.None);
                    }

                    if (Volatile.Read(ref measuring))
                    {
                        local.Add(Stopwatch.GetTimestamp() - started);
                    }

                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    while ((await socket.ReceiveAsync(receive.AsMemory(), CancellationToken.None)).MessageType != WebSocketMessageType.Close)
                    {
                    }
                }
                catch (Exception ex) when (ex is WebSocketException or HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
            }

            latency.AddRange(local);
            Interlocked.Add(ref count, local.Count);
        }).ToList();

        await Task.Delay(settings.Warmup);
        var window = await Window.MeasureAsync(server, settings.Duration, () => Volatile.Write(ref measuring, true), () => Volatile.Write(ref measuring, false));
        Volatile.Write(ref stop, true);
        await Task.WhenAll(loops);
        return new RunResult(server.Target, round, settings.Connections, window.Seconds, count, window.ServerCpu, window.ClientCpu, latency, Lost: Interlocked.Read(ref failed))
        {
            TokensPresented = uris is null ? 0 : Interlocked.Read(ref issued) + 1,
            TokensRepeated = uris is null ? 0 : Math.Max(0, Interlocked.Read(ref issued) + 1 - uris.Length),
        };
    }
}
