using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Gateway.LoadTest;

/// <summary>
/// A long run with churn against one gateway: steady clients subscribed to topics receive numbered pushes and
/// publishes, which must all arrive, in order, once; around them, clients keep connecting and leaving in every way
/// (a close, a dropped socket, one that stops reading until the server closes it as a slow consumer, one that goes
/// silent until the ping timeout drops it). The server's memory is sampled after a full GC; at the end nothing may be
/// left behind: no connection, no subscription.
/// </summary>
public static class SoakBench
{
    private const int Topics = 10;

    public static async Task<int> RunAsync(ServerUnderTest server, Settings settings)
    {
        var steadyCount = Math.Max(Topics, settings.Connections);
        var management = new Uri(server.PushBase, "../");
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 32, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var started = Stopwatch.GetTimestamp();
        var end = started + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);
        bool Running() => Stopwatch.GetTimestamp() < end;

        // Steady clients: client i subscribes to soak.t{i % Topics}; each checks its pushes and its topic's events off.
        var steady = new Steady[steadyCount];
        for (var i = 0; i < steady.Length; i++)
        {
            var client = await BenchClient.ConnectAsync(server.ClientUri, readConnectedFrame: true);
            await client.SendTextAsync(Encoding.UTF8.GetBytes($$"""{"action":"subscribe","channel":"soak.t{{i % Topics}}"}"""));
            await client.ReceiveAsync(CancellationToken.None);
            steady[i] = new Steady(client, i % Topics);
        }

        var readers = steady.Select(s => s.ReadAsync(CancellationToken.None)).ToList();

        // Pushes: numbered per target; publishes: numbered per topic. Only what the server accepted must arrive.
        var pushesAccepted = 0L;
        var publishesAccepted = new long[Topics];
        var refused = 0L;
        var pushers = Enumerable.Range(0, 4).Select(async worker =>
        {
            var random = new Random(worker);
            while (Running())
            {
                var target = steady[random.Next(steady.Length)];
                var n = target.NextPush();
                using var response = await http.PostAsync(new Uri(server.PushBase, target.Client.Id), new StringContent($"p:{n}"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref pushesAccepted);
                    target.Accepted(n);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }

                await Task.Delay(1);
            }
        }).ToList();
        var publishers = Enumerable.Range(0, Topics).Select(async topic =>
        {
            var sequence = 0L;
            while (Running())
            {
                var n = sequence + 1;
                using var response = await http.PostAsync(new Uri(management, $"@topics/soak.t{topic}?type=soak"), new StringContent(n.ToString(CultureInfo.InvariantCulture)));
                if (response.IsSuccessStatusCode)
                {
                    sequence = n;
                    Volatile.Write(ref publishesAccepted[topic], n);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }

                await Task.Delay(20);
            }
        }).ToList();

        // Churn: each worker connects a client, subscribes it, and lets it go one of five ways.
        var churned = new ConcurrentDictionary<string, int>();
        var churners = Enumerable.Range(0, 8).Select(async worker =>
        {
            var random = new Random(100 + worker);
            while (Running())
            {
                // Silent clients are let go once the server has surely dropped them (ping interval + pong timeout).
                while (Silent.TryPeek(out var oldest) && Stopwatch.GetElapsedTime(oldest.At) > TimeSpan.FromSeconds(60) && Silent.TryDequeue(out oldest))
                {
                    oldest.Client.Dispose();
                }

                var way = random.Next(5);
                if (way == 3 && Silent.Count >= 100)
                {
                    way = 0;
                }

                churned.AddOrUpdate(Ways[way], 1, (_, c) => c + 1);
                try
                {
                    await ChurnOnceAsync(server, http, way, random);
                }
                catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException or OperationCanceledException)
                {
                    churned.AddOrUpdate("failed: " + ex.GetType().Name, 1, (_, c) => c + 1);
                }

                await Task.Delay(random.Next(10, 50));
            }
        }).ToList();

        // Memory after a full GC, and what the server holds, every minute (or every sixth of the run when shorter).
        var samples = new List<(double Minutes, long Rss, int Connections, int Subscriptions)>();
        var every = TimeSpan.FromSeconds(Math.Min(60, Math.Max(10, settings.Duration.TotalSeconds / 6)));
        while (Running())
        {
            await Task.Delay(every);
            await server.ForceGcAsync();
            var (connections, subscriptions) = await HeldAsync(http, management);
            samples.Add((Stopwatch.GetElapsedTime(started).TotalMinutes, server.RssBytes(), connections, subscriptions));
            Console.Error.WriteLine($"soak {samples[^1].Minutes:F1} min: RSS {samples[^1].Rss / 1048576.0:F1} MB, {connections} connections, {subscriptions} subscriptions");
        }

        await Task.WhenAll(pushers.Concat(publishers).Concat(churners));

        // Everything accepted arrives: wait for the stragglers, then count what is missing.
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 15);
        while (steady.Any(s => !s.Complete(publishesAccepted)) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50);
        }

        var lost = steady.Sum(s => s.Missing(publishesAccepted));
        var disorder = steady.Sum(s => s.OutOfOrder);
        // Closing with a receive pending: the server's answering close ends each reader (a cancelled receive would
        // abort the socket instead).
        foreach (var s in steady)
        {
            await s.Client.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        await Task.WhenAll(readers);
        foreach (var s in steady)
        {
            s.Client.Dispose();
        }

        // Silent clients still connected stay so: the server must drop them by itself.

        // Nothing left behind once every client has gone (silent ones are dropped by the ping timeout: wait for it).
        var left = (Connections: -1, Subscriptions: -1);
        var emptyBy = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 90);
        do
        {
            await Task.Delay(500);
            left = await HeldAsync(http, management);
        }
        while ((left.Connections > 0 || left.Subscriptions > 0) && Stopwatch.GetTimestamp() < emptyBy);

        await server.ForceGcAsync();
        var finalRss = server.RssBytes();
        while (Silent.TryDequeue(out var silent))
        {
            silent.Client.Dispose();
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"### soak: {settings.Duration.TotalMinutes:F0} min, {steady.Length} steady clients on {Topics} topics, 4 pushers, {Topics} publishers, 8 churn workers");
        report.AppendLine();
        report.AppendLine("| minute | RSS after full GC | connections | subscriptions |");
        report.AppendLine("| --- | --- | --- | --- |");
        foreach (var (minutes, rss, connections, subscriptions) in samples)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {minutes:F1} | {rss / 1048576.0:F1} MB | {connections} | {subscriptions} |");
        }

        report.AppendLine(CultureInfo.InvariantCulture, $"| end, all clients gone | {finalRss / 1048576.0:F1} MB | {left.Connections} | {left.Subscriptions} |");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Pushes accepted and delivered: {Interlocked.Read(ref pushesAccepted)}; topic events published: {publishesAccepted.Sum()} (each to {steady.Length / Topics} steady subscribers); refused by the server: {refused}; **lost: {lost}**, out of order or twice: {disorder}.");
        report.AppendLine(CultureInfo.InvariantCulture, $"Churn: {string.Join(", ", churned.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Value} {c.Key}"))}.");
        if (samples.Count >= 2)
        {
            var first = samples[Math.Min(1, samples.Count - 1)].Rss;
            report.AppendLine(CultureInfo.InvariantCulture, $"Memory from the second sample to the last: {first / 1048576.0:F1} → {samples[^1].Rss / 1048576.0:F1} MB ({(samples[^1].Rss - first) / (double)first:P1}).");
        }

        Console.WriteLine(report);
        return lost == 0 && disorder == 0 && left is { Connections: 0, Subscriptions: 0 } ? 0 : 1;
    }

    private static readonly string[] Ways = ["closed", "dropped", "slow consumer", "silent", "closed after a burst"];

    private static async Task ChurnOnceAsync(ServerUnderTest server, HttpClient http, int way, Random random)
    {
        var client = await BenchClient.ConnectAsync(server.ClientUri, readConnectedFrame: true);
        try
        {
            await client.SendTextAsync(Encoding.UTF8.GetBytes($$"""{"action":"subscribe","channel":"soak.t{{random.Next(Topics)}}"}"""));
            await client.ReceiveAsync(CancellationToken.None);
            switch (way)
            {
                case 0:
                    await Task.Delay(random.Next(50, 500));
                    await client.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    break;
                case 1:
                    // The process died: the socket is gone without a close frame.
                    await Task.Delay(random.Next(50, 500));
                    client.Socket.Abort();
                    break;
                case 2:
                    // It stops reading while large pushes pile up: the server closes it as a slow consumer.
                    var big = new string('x', 64 * 1024);
                    for (var i = 0; i < 2000; i++)
                    {
                        using var response = await http.PostAsync(new Uri(server.PushBase, client.Id), new StringContent(big));
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            break;
                        }
                    }

                    client.Socket.Abort();
                    break;
                case 3:
                    // It stays connected but never reads again (no pongs): left to the server's ping timeout.
                    Silent.Enqueue((Stopwatch.GetTimestamp(), client));
                    return;
                default:
                    for (var i = 0; i < 20; i++)
                    {
                        await client.SendTextAsync(Encoding.UTF8.GetBytes("""{"action":"echo-me"}"""));
                        await client.ReceiveAsync(CancellationToken.None);
                    }

                    await client.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    break;
            }
        }
        catch
        {
            client.Dispose();
            throw;
        }

        client.Dispose();
    }

    // Kept referenced so that their sockets stay open until the server drops them.
    private static readonly ConcurrentQueue<(long At, BenchClient Client)> Silent = new();

    private static async Task<(int Connections, int Subscriptions)> HeldAsync(HttpClient http, Uri management)
    {
        using var overview = JsonDocument.Parse(await http.GetStringAsync(new Uri(management, "admin/api/overview")));
        var cluster = overview.RootElement.GetProperty("cluster");
        return (cluster.GetProperty("connections").GetInt32(), cluster.GetProperty("subscriptions").GetInt32());
    }

    /// <summary>A steady client and what it has been sent and has received.</summary>
    private sealed class Steady(BenchClient client, int topic)
    {
        private readonly ConcurrentDictionary<long, bool> _acceptedPushes = new();
        private long _nextPush;
        private long _lastEvent;
        private readonly ConcurrentDictionary<long, bool> _receivedPushes = new();

        public BenchClient Client => client;

        public long OutOfOrder;

        public long NextPush() => Interlocked.Increment(ref _nextPush);

        public void Accepted(long n) => _acceptedPushes[n] = true;

        public bool Complete(long[] published) =>
            _acceptedPushes.Keys.All(_receivedPushes.ContainsKey) && Volatile.Read(ref _lastEvent) >= Volatile.Read(ref published[topic]);

        public long Missing(long[] published) =>
            _acceptedPushes.Keys.Count(n => !_receivedPushes.ContainsKey(n)) + Math.Max(0, Volatile.Read(ref published[topic]) - Volatile.Read(ref _lastEvent));

        public async Task ReadAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (true)
                {
                    var message = await client.ReceiveAsync(cancellationToken);
                    var text = Encoding.UTF8.GetString(message.Span);
                    if (text.StartsWith("p:", StringComparison.Ordinal))
                    {
                        if (!_receivedPushes.TryAdd(long.Parse(text.AsSpan(2), CultureInfo.InvariantCulture), true))
                        {
                            Interlocked.Increment(ref OutOfOrder);
                        }
                    }
                    else if (text.Contains("\"type\":\"soak\"", StringComparison.Ordinal))
                    {
                        using var json = JsonDocument.Parse(text);
                        var n = json.RootElement.GetProperty("data").GetInt64();
                        if (n != _lastEvent + 1)
                        {
                            Interlocked.Increment(ref OutOfOrder);
                        }

                        Volatile.Write(ref _lastEvent, Math.Max(_lastEvent, n));
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
            }
        }
    }
}
