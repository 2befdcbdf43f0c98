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
        ["Gateway__Connections__SendQueueByteLimit"] = "268435456",
        ["Gateway__Connections__PingInterval"] = "00:10:00",
    };

    public static async Task<RunResult[]> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var members = await BenchClient.ConnectManyAsync(server.ClientUri, settings.Connections, readConnectedFrame: true);
        long received = 0;
        using var cts = new CancellationTokenSource();
        var receivers = members.Select(client => client.CountAsync(() => Interlocked.Increment(ref received), cts.Token)).ToList();

        // Every member subscribes (each hears of the members that join after its own subscribe: members that subscribe
        // at the same moment may not hear of each other, as a presence answer tells them). Measured once all is quiet.
        var subscribe = Encoding.UTF8.GetBytes("""{"action":"subscribe","channel":"room.bench"}""");
        var setup = Stopwatch.StartNew();
        foreach (var chunk in members.Chunk(100))
        {
            await Task.WhenAll(chunk.Select(c => c.SendTextAsync(subscribe).AsTask()));
        }

        var n = (long)members.Length;
        using (var check = new HttpClient())
        {
            // Every subscribe carried out (each a member and a subscriber), then every join frame delivered.
            var counted = Stopwatch.StartNew();
            while (true)
            {
                var topic = System.Text.Json.JsonDocument.Parse(await check.GetStringAsync(new Uri(server.PublishUri, "room.bench"))).RootElement;
                if (topic.GetProperty("members").GetArrayLength() == n && topic.GetProperty("subscribers").GetInt32() == n)
                {
                    break;
                }

                if (counted.Elapsed > TimeSpan.FromMinutes(10))
                {
                    throw new TimeoutException($"{topic.GetProperty("members").GetArrayLength()} members and {topic.GetProperty("subscribers")} subscribers after 10 minutes, not {n}");
                }

                await Task.Delay(500);
            }
        }

        await QuietAsync(() => Interlocked.Read(ref received), TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(10));
        Console.Error.WriteLine($"presence: {n} members in {setup.Elapsed.TotalSeconds:0.0} s ({Interlocked.Read(ref received) - n:N0} join frames)");

        // Every member is there (none was closed as a slow consumer while the joins went out).
        using (var check = new HttpClient())
        {
            var topic = System.Text.Json.JsonDocument.Parse(await check.GetStringAsync(new Uri(server.PublishUri, "room.bench"))).RootElement;
            var listed = topic.GetProperty("members").GetArrayLength();
            if (listed != n || topic.GetProperty("subscribers").GetInt32() != n)
            {
                var metrics = await check.GetStringAsync(new Uri(server.PublishUri, "../metrics"));
                var closes = string.Join("; ", metrics.Split('\n').Where(l => l.StartsWith("gateway_connections_closed", StringComparison.Ordinal) || l.StartsWith("gateway_connections_active", StringComparison.Ordinal)));
                throw new InvalidOperationException($"{listed} members and {topic.GetProperty("subscribers")} subscribers, not {n}: {closes}");
            }
        }

        using var prober = await BenchClient.ConnectAsync(server.ClientUri, readConnectedFrame: true);
        var proberFrames = 0L;
        var proberReading = prober.CountAsync(() => Interlocked.Increment(ref proberFrames), cts.Token);

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

    /// <summary>Waits until <paramref name="count"/> stays the same for <paramref name="quiet"/>.</summary>
    private static async Task QuietAsync(Func<long> count, TimeSpan quiet, TimeSpan timeout)
    {
        var total = Stopwatch.StartNew();
        var last = count();
        var still = Stopwatch.StartNew();
        while (still.Elapsed < quiet)
        {
            if (total.Elapsed > timeout)
            {
                throw new TimeoutException("the members' joins did not settle");
            }

            await Task.Delay(100);
            var now = count();
            if (now != last)
            {
                last = now;
                still.Restart();
            }
        }
    }
}
