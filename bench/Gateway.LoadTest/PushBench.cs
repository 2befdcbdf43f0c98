using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>
/// K keep-alive HTTP senders post to C connections (the gateway's POST /@connections/{id}, or the bare app's
/// POST /push/{n}); each client checks every push off as it arrives, and pushes that never arrive are counted lost.
/// </summary>
public static class PushBench
{
    public static async Task<RunResult> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        IBenchClient[] clients = server.Target == Target.GatewaySse
            ? await SseBenchClient.ConnectManyAsync(server.ClientUri, settings.Connections)
            : await BenchClient.ConnectManyAsync(server.ClientUri, settings.Connections, readConnectedFrame: true);
        var measuring = false;
        var stop = false;
        long sentOk = 0, received = 0, windowDelivered = 0, failed = 0;
        var latency = new Latency();
        using var cts = new CancellationTokenSource();
        var receivers = clients.Select(async client =>
        {
            var local = new List<long>();
            try
            {
                while (true)
                {
                    var message = await client.ReceiveAsync(cts.Token);

                    // "<stopwatch ticks at send>:<padding>"
                    var colon = message.Span.IndexOf((byte)':');
                    var stamped = Utf8Parser.TryParse(message.Span[..Math.Max(colon, 0)], out long sentAt, out _);
                    Interlocked.Increment(ref received);
                    if (stamped && Volatile.Read(ref measuring))
                    {
                        Interlocked.Increment(ref windowDelivered);
                        local.Add(Stopwatch.GetTimestamp() - sentAt);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or IOException)
            {
                // Cancelled at the end, or closed by the server (a slow consumer): what never arrived counts as lost.
            }

            latency.AddRange(local);
        }).ToList();

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = settings.Senders, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        if (server.ApiKey is { } key)
        {
            http.DefaultRequestHeaders.Add("x-api-key", key);
        }

        var pad = new string('x', Math.Max(0, settings.PayloadBytes - 20));
        long next = 0;
        // With --rate, pushes leave on a schedule (open loop: a late one does not delay the next ones' times), so that
        // latency is measured at a fixed load rather than at saturation.
        var paced = settings.Rate > 0;
        var interval = paced ? Stopwatch.Frequency / (double)settings.Rate : 0;
        var schedule = Stopwatch.GetTimestamp();
        var senders = Enumerable.Range(0, settings.Senders).Select(async _ =>
        {
            while (!Volatile.Read(ref stop))
            {
                var n = Interlocked.Increment(ref next);
                if (paced)
                {
                    var due = schedule + (long)(n * interval);
                    var wait = due - Stopwatch.GetTimestamp();
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
                    }
                }

                var target = clients[n % clients.Length];
                var body = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Stopwatch.GetTimestamp()}:{pad}"));
                using var content = new ByteArrayContent(body);
                try
                {
                    using var response = await http.PostAsync(new Uri(server.PushBase, target.Id), content);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref sentOk);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }).ToList();

        await Task.Delay(settings.Warmup);
        var engineBefore = await server.EngineCountersAsync();
        var window = await Window.MeasureAsync(server, settings.Duration, () => Volatile.Write(ref measuring, true), () => Volatile.Write(ref measuring, false));
        var engine = (await server.EngineCountersAsync()).Since(engineBefore);
        Volatile.Write(ref stop, true);
        await Task.WhenAll(senders);

        // Everything accepted must arrive: wait for the stragglers, then count what never came.
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (Interlocked.Read(ref received) < Interlocked.Read(ref sentOk) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20);
        }

        await cts.CancelAsync();
        await Task.WhenAll(receivers);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        var lost = sentOk - received + failed;
        return new RunResult(server.Target, round, settings.Connections, window.Seconds, windowDelivered, window.ServerCpu, window.ClientCpu, latency, lost, BackendCpu: window.BackendCpu,
            RedisCommandsPerOperation: EngineCounters.PerOperation(engine.RedisCommands, windowDelivered),
            NatsMessagesInPerOperation: EngineCounters.PerOperation(engine.NatsMessagesIn, windowDelivered),
            NatsMessagesOutPerOperation: EngineCounters.PerOperation(engine.NatsMessagesOut, windowDelivered))
        {
            NodeCpu = window.NodeCpu,
        };
    }
}
