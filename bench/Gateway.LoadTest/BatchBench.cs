using System.Diagnostics;
using System.Net;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>
/// 1,000 pushes spread over C connections, sent again and again for the window: first as 1,000 single
/// <c>POST /@connections/{id}</c> calls from K keep-alive senders, then as one <c>POST /@batch</c> of 1,000 items. Each
/// set counts once every push of it has arrived; the "latency" column is the time of one whole set, and the server CPU
/// per push compares the two forms.
/// </summary>
public static class BatchBench
{
    /// <summary>Pushes in one set (and items in one batch).</summary>
    public const int SetSize = 1000;

    public static async Task<RunResult[]> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var clients = await BenchClient.ConnectManyAsync(server.ClientUri, settings.Connections, readConnectedFrame: true);
        long received = 0;
        using var cts = new CancellationTokenSource();
        var receivers = clients.Select(client => client.CountAsync(() => Interlocked.Increment(ref received), cts.Token)).ToList();

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = settings.Senders, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        if (server.ApiKey is { } key)
        {
            http.DefaultRequestHeaders.Add("x-api-key", key);
        }

        var body = new string('x', Math.Max(1, settings.PayloadBytes));
        var batchBody = Encoding.UTF8.GetBytes("{\"items\":[" + string.Join(',', Enumerable.Range(0, SetSize).Select(i => $"{{\"connectionId\":\"{clients[i % clients.Length].Id}\",\"body\":\"{body}\"}}")) + "]}");
        var batchUri = new Uri(server.PushBase, "../@batch");
        long failed = 0;

        async Task SinglesAsync()
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, settings.Senders).Select(async _ =>
            {
                int n;
                while ((n = Interlocked.Increment(ref next)) < SetSize)
                {
                    using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
                    using var response = await http.PostAsync(new Uri(server.PushBase, clients[n % clients.Length].Id), content);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            }));
        }

        async Task BatchAsync()
        {
            using var content = new ByteArrayContent(batchBody);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(batchUri, content);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"POST /@batch answered {(int)response.StatusCode}: {text}");
            }
        }

        async Task<RunResult> MeasureAsync(string label, Func<Task> sendSet)
        {
            var sets = new Latency();
            long pushes = 0;
            var stop = false;
            var loop = Task.Run(async () =>
            {
                while (!Volatile.Read(ref stop))
                {
                    var expected = Interlocked.Read(ref received) + SetSize;
                    var started = Stopwatch.GetTimestamp();
                    await sendSet();
                    var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
                    while (Interlocked.Read(ref received) < expected && Stopwatch.GetTimestamp() < deadline)
                    {
                        await Task.Delay(1);
                    }

                    sets.Add(Stopwatch.GetTimestamp() - started);
                    Interlocked.Add(ref pushes, SetSize);
                }
            });
            var window = await Window.MeasureAsync(server, settings.Duration, () => { }, () => Volatile.Write(ref stop, true));
            await loop;
            return new RunResult(server.Target, round, settings.Connections, window.Seconds, Interlocked.Read(ref pushes), window.ServerCpu, window.ClientCpu, sets, Interlocked.Read(ref failed))
            {
                Label = label,
            };
        }

        // A warm-up of each form, then the two windows.
        await SinglesAsync();
        await BatchAsync();
        var single = await MeasureAsync($"{server.Target} {SetSize} single", SinglesAsync);
        var batch = await MeasureAsync($"{server.Target} 1 batch of {SetSize}", BatchAsync);

        await cts.CancelAsync();
        await Task.WhenAll(receivers);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        return [single, batch];
    }
}
