using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>
/// C subscribers of one topic, spread over every node; K senders publish to it (POST /@topics/{topic} on the first
/// node). Each publish is delivered to all C: the rate counted is deliveries, and every one is checked off.
/// </summary>
public static class FanoutBench
{
    private const string Topic = "bench.fanout";

    public static async Task<RunResult> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var clients = new BenchClient[settings.Connections];
        for (var i = 0; i < clients.Length; i++)
        {
            clients[i] = await BenchClient.ConnectAsync(server.ClientUris[i % server.ClientUris.Count], readConnectedFrame: true);
            await clients[i].SendTextAsync(Encoding.UTF8.GetBytes($$"""{"action":"subscribe","channel":"{{Topic}}"}"""));
            await clients[i].ReceiveAsync(CancellationToken.None);
        }

        var measuring = false;
        var stop = false;
        long published = 0, received = 0, windowDelivered = 0, failed = 0;
        var latency = new Latency();
        using var cts = new CancellationTokenSource();
        var receivers = clients.Select(async client =>
        {
            var local = new List<long>();
            try
            {
                while (true)
                {
                    // {"type":"t","channel":"bench.fanout","data":<ticks>}
                    var message = await client.ReceiveAsync(cts.Token);
                    // With --payload over 64 bytes: "data":[<ticks>,<a JSON document>].
                    var at = message.Span.IndexOf("\"data\":"u8);
                    var from = at + 7 < message.Length && message.Span[at + 7] == (byte)'[' ? at + 8 : at + 7;
                    long sentAt = 0;
                    var stamped = at >= 0 && Utf8Parser.TryParse(message.Span[from..], out sentAt, out _);
                    Interlocked.Increment(ref received);
                    if (stamped && Volatile.Read(ref measuring))
                    {
                        Interlocked.Increment(ref windowDelivered);
                        local.Add(Stopwatch.GetTimestamp() - sentAt);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
            }

            latency.AddRange(local);
        }).ToList();

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = settings.Senders };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var uri = new Uri(server.PublishUri, Topic + "?type=t");
        var document = settings.PayloadBytes > 64 ? Encoding.UTF8.GetString(BenchClient.Messages("doc", 0)[0])[..^2] : null;
        var senders = Enumerable.Range(0, settings.Senders).Select(async _ =>
        {
            while (!Volatile.Read(ref stop))
            {
                var stamp = Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture);
                using var content = new StringContent(document is null ? stamp : $"[{stamp},{document}]}}]", Encoding.UTF8, "application/json");
                try
                {
                    using var response = await http.PostAsync(uri, content);
                    Interlocked.Increment(ref response.StatusCode == HttpStatusCode.OK ? ref published : ref failed);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }).ToList();

        await Task.Delay(settings.Warmup);
        var engineBefore = await server.EngineCountersAsync();
        var publishedBefore = Interlocked.Read(ref published);
        var window = await Window.MeasureAsync(server, settings.Duration, () => Volatile.Write(ref measuring, true), () => Volatile.Write(ref measuring, false));
        var engine = (await server.EngineCountersAsync()).Since(engineBefore);
        var publishedInWindow = Interlocked.Read(ref published) - publishedBefore;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(senders);

        var expected = Interlocked.Read(ref published) * clients.Length;
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (Interlocked.Read(ref received) < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20);
        }

        await cts.CancelAsync();
        await Task.WhenAll(receivers);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        var lost = expected - received + failed;
        return new RunResult(server.Target, round, settings.Connections, window.Seconds, windowDelivered, window.ServerCpu, window.ClientCpu, latency, lost,
            BackendCpu: window.BackendCpu,
            RedisCommandsPerOperation: EngineCounters.PerOperation(engine.RedisCommands, publishedInWindow),
            NatsMessagesInPerOperation: EngineCounters.PerOperation(engine.NatsMessagesIn, publishedInWindow),
            NatsMessagesOutPerOperation: EngineCounters.PerOperation(engine.NatsMessagesOut, publishedInWindow));
    }
}
