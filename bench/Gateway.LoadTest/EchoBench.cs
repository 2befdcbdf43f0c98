using System.Globalization;
using System.Diagnostics;

namespace Gateway.LoadTest;

/// <summary>C connections each send a message and wait for its echo, over and over (through $default → echo on the gateway).</summary>
public static class EchoBench
{
    public static async Task<RunResult> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var clients = await BenchClient.ConnectManyAsync(server.ClientUri, settings.Connections, server.SendsConnectedFrame);
        var messages = BenchClient.Messages(settings.Messages, settings.PayloadBytes);
        var measuring = false;
        var stop = false;
        var latency = new Latency();
        long count = 0;
        var loops = clients.Select(async (client, index) =>
        {
            var local = new List<long>();
            long localCount = 0;
            var next = index;
            while (!Volatile.Read(ref stop))
            {
                var started = Stopwatch.GetTimestamp();
                await client.SendTextAsync(messages[next++ % messages.Length]);
                await client.ReceiveAsync(CancellationToken.None);
                if (Volatile.Read(ref measuring))
                {
                    local.Add(Stopwatch.GetTimestamp() - started);
                    localCount++;
                }
            }

            latency.AddRange(local);
            Interlocked.Add(ref count, localCount);
        }).ToList();

        await Task.Delay(settings.Warmup);
        var runtimeBefore = await server.RuntimeAsync();
        long readBefore = 0, writtenBefore = 0, readAfter = 0, writtenAfter = 0;
        var window = await Window.MeasureAsync(server, settings.Duration,
            () => { readBefore = BenchClient.WireBytesRead; writtenBefore = BenchClient.WireBytesWritten; Volatile.Write(ref measuring, true); },
            () => { Volatile.Write(ref measuring, false); readAfter = BenchClient.WireBytesRead; writtenAfter = BenchClient.WireBytesWritten; });
        var runtimeAfter = await server.RuntimeAsync();
        var runtime = runtimeBefore is { } b && runtimeAfter is { } a
            ? string.Create(CultureInfo.InvariantCulture, $"{(a.LockContentions - b.LockContentions) / window.Seconds:F0} lock contentions/s, {a.Threads:F0} thread-pool threads, {a.Queued:F0} work items queued at the end")
            : null;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(loops);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        return new RunResult(server.Target, round, settings.Connections, window.Seconds, count, window.ServerCpu, window.ClientCpu, latency, BackendCpu: window.BackendCpu)
        {
            Runtime = runtime,
            WireBytesReadPerOperation = (readAfter - readBefore) / (double)count,
            WireBytesWrittenPerOperation = (writtenAfter - writtenBefore) / (double)count,
        };
    }
}
