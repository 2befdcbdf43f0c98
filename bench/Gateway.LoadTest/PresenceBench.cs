using System.Diagnostics;
using System.Net;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>
/// What a presence join or leave costs when a topic has C members (10,000 by default): C connections subscribe to
/// <c>room.bench</c> (a topic with presence, so each is a member and hears of every later one), then a prober
/// connection subscribes and unsubscribes again and again, each join or leave counted once all C members got its frame.
/// The baseline, in the same run on the same connections: a publish to the topic (<c>POST /@topics/room.bench</c>),
/// counted once all C got it: the same fan-out without presence. Latency is one operation's (send to last delivery);
/// server CPU per operation compares the two.
/// </summary>
public static class PresenceBench
{
    /// <summary>The settings that give <c>room.*</c> presence with room for every member.</summary>
    public static IReadOnlyDictionary<string, string> Environment(int members) => new Dictionary<string, string>
    {
        ["Gateway__Topics__Presence__0__Pattern"] = "room.*",
        ["Gateway__Topics__Presence__0__MaxMembers"] = (members + 10).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Gateway__Connections__SendQueueLimit"] = "100000",
    };

    public static async Task<RunResult[]> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var members = await BenchClient.ConnectManyAsync(server.ClientUri, settings.Connections, readConnectedFrame: true);
        long received = 0;
        using var cts = new CancellationTokenSource();
        var receivers = members.Select(async client =>
        {
            try
            {
                while (true)
                {
                    await client.ReceiveAsync(cts.Token);
                    Interlocked.Increment(ref received);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
            }
        }).ToList();

        // Every member subscribes: C answers and C (C - 1) / 2 joins, waited for before anything is measured.
        var subscribe = Encoding.UTF8.GetBytes("""{"action":"subscribe","channel":"room.bench"}""");
        var setup = Stopwatch.StartNew();
        foreach (var chunk in members.Chunk(100))
        {
            await Task.WhenAll(chunk.Select(c => c.SendTextAsync(subscribe).AsTask()));
        }

        var n = (long)members.Length;
        await WaitForAsync(() => Interlocked.Read(ref received) >= n + (n * (n - 1) / 2), TimeSpan.FromMinutes(10), "the members' joins");
        Console.Error.WriteLine($"presence: {n} members in {setup.Elapsed.TotalSeconds:0.0} s ({n * (n - 1) / 2:N0} join frames)");

        using var prober = await BenchClient.ConnectAsync(server.ClientUri, readConnectedFrame: true);
        var proberFrames = 0L;
        var proberReading = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await prober.ReceiveAsync(cts.Token);
                    Interlocked.Increment(ref proberFrames);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
            }
        });

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        if (server.ApiKey is { } key)
        {
            http.DefaultRequestHeaders.Add("x-api-key", key);
        }

        var unsubscribe = Encoding.UTF8.GetBytes("""{"action":"unsubscribe","channel":"room.bench"}""");
        var joined = false;
        long failed = 0;

        async Task JoinOrLeaveAsync()
        {
            await prober.SendTextAsync(joined ? unsubscribe : subscribe);
            joined = !joined;
        }

        async Task PublishAsync()
        {
            using var content = new StringContent("""{"type":"t","data":1}""", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri(server.PublishUri, "room.bench"), content);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Interlocked.Increment(ref failed);
            }
        }

        async Task<RunResult> MeasureAsync(string label, Func<Task> operation)
        {
            var latency = new Latency();
            long operations = 0;
            var stop = false;
            var loop = Task.Run(async () =>
            {
                while (!Volatile.Read(ref stop))
                {
                    var expected = Interlocked.Read(ref received) + n;
                    var started = Stopwatch.GetTimestamp();
                    await operation();
                    var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
                    while (Interlocked.Read(ref received) < expected)
                    {
                        if (Stopwatch.GetTimestamp() > deadline)
                        {
                            Interlocked.Increment(ref failed);
                            break;
                        }

                        await Task.Delay(1);
                    }

                    latency.Add(Stopwatch.GetTimestamp() - started);
                    operations++;
                }
            });
            var window = await Window.MeasureAsync(server, settings.Duration, () => { }, () => Volatile.Write(ref stop, true));
            await loop;
            return new RunResult(server.Target, round, settings.Connections, window.Seconds, operations, window.ServerCpu, window.ClientCpu, latency, Interlocked.Read(ref failed))
            {
                Label = label,
            };
        }

        var publish = await MeasureAsync($"{server.Target} publish to {n} subscribers", PublishAsync);
        var presence = await MeasureAsync($"{server.Target} join or leave with {n} members", JoinOrLeaveAsync);
        if (joined)
        {
            await JoinOrLeaveAsync();
        }

        await cts.CancelAsync();
        await Task.WhenAll(receivers);
        await proberReading;
        foreach (var client in members)
        {
            client.Dispose();
        }

        return [publish, presence];
    }

    private static async Task WaitForAsync(Func<bool> done, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!done())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(50);
        }
    }
}
