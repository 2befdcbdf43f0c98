using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Gateway.LoadTest;

/// <summary>
/// N idle connections (100,000 at full size) spread evenly over six gateway nodes sharing an engine, held by
/// <c>cluster-hold</c> load processes (<see cref="ClusterLoad"/>, one per node, each under its open-files limit) from
/// several loopback source addresses; then, repeated <c>--rounds</c> times on the same connections: a
/// <c>POST /@broadcast</c>, one topic publish to every connection (<c>bench.all</c>), and one publish to each of 1,000
/// topics <c>bench.{k}.x</c> that the connections match with <c>bench.{i % 1000}.*</c>. Each is timed from the first
/// request to the last delivery, and every connection's count is checked: nothing lost, nothing doubled.
/// Memory per connection is the nodes' VmRSS after a full GC, before and after connecting (as <c>idle</c> measures it).
/// </summary>
public static class ClusterBench
{
    private const int Topics = 1000;
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(10);

    /// <summary>Runs the benchmark on one cluster; <paramref name="targetIndex"/> picks its own source addresses.</summary>
    public static async Task<ClusterResult> RunAsync(ServerUnderTest server, int targetIndex, Settings settings)
    {
        var nodes = server.NodePids;
        var enginePid = server.EnginePid ?? throw new InvalidOperationException("the cluster benchmark needs an engine");
        var connections = settings.Connections;
        var loaders = nodes.Length;
        if ((connections + loaders - 1) / loaders > 19_000)
        {
            throw new ArgumentException($"{connections} connections on {loaders} nodes is more than 19,000 per load process and per node (open-files limit 20,000)");
        }

        // Each target has its own source addresses; each load process its share of them.
        var addresses = Enumerable.Range(0, settings.Sources).Select(j => $"127.0.0.{1 + (targetIndex * settings.Sources) + j}").ToArray();
        var result = new ClusterResult(server.Target, connections, nodes.Length) { LoadAverage = File.ReadAllText("/proc/loadavg").Split(' ')[0] };
        Log(server, $"{nodes.Length} nodes up; full GC on each");
        await Task.WhenAll(nodes.Select(ServerUnderTest.ForceGcAsync));
        var rssBefore = nodes.Select(ServerUnderTest.RssBytes).ToArray();
        result.EngineRssBefore = ServerUnderTest.RssBytes(enginePid);

        var nodeCpu0 = NodeCpu(nodes);
        var engineCpu0 = ServerUnderTest.CpuTime(enginePid);
        var started = Stopwatch.GetTimestamp();
        var processes = new List<Process>();
        try
        {
            var first = 0;
            for (var k = 0; k < loaders; k++)
            {
                var count = (connections / loaders) + (k < connections % loaders ? 1 : 0);
                var mine = addresses.Length >= loaders ? addresses.Where((_, j) => j % loaders == k) : addresses;
                var info = new ProcessStartInfo("dotnet", [typeof(ClusterBench).Assembly.Location, "cluster-hold", server.ClientUris[k].ToString(),
                    count.ToString(CultureInfo.InvariantCulture), first.ToString(CultureInfo.InvariantCulture), Topics.ToString(CultureInfo.InvariantCulture), string.Join(',', mine)])
                {
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                };
                processes.Add(Process.Start(info) ?? throw new InvalidOperationException("could not start a load process"));
                first += count;
            }

            var connected = await AskAllAsync(processes, null);
            result.ConnectSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            result.ConnectRetries = connected.Sum(line => int.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture));
            result.ConnectNodeCpu = NodeCpu(nodes) - nodeCpu0;
            result.ConnectEngineCpu = ServerUnderTest.CpuTime(enginePid) - engineCpu0;
            result.ConnectLoaderCpu = LoaderCpu(processes);
            result.LoaderRss = processes.Sum(p => ServerUnderTest.RssBytes(p.Id));
            Log(server, $"{connections} connected in {result.ConnectSeconds:F1} s ({result.ConnectRetries} retried)");

            await Task.Delay(settings.Warmup);
            await Task.WhenAll(nodes.Select(ServerUnderTest.ForceGcAsync));
            var rssConnected = nodes.Select(ServerUnderTest.RssBytes).ToArray();
            result.BytesPerConnection = (rssConnected.Sum() - rssBefore.Sum()) / (double)connections;
            result.NodeBytesPerConnection = [.. rssConnected.Zip(rssBefore, (after, before) => (after - before) / (connections / (double)nodes.Length))];
            result.NodeRssConnected = rssConnected.Sum();
            Log(server, $"{result.BytesPerConnection / 1024:F1} KB per connection (nodes' VmRSS after a full GC)");

            var subscribing = Stopwatch.GetTimestamp();
            var subscribed = await AskAllAsync(processes, "subscribe");
            result.SubscribeSeconds = Stopwatch.GetElapsedTime(subscribing).TotalSeconds;
            result.SubscribeFailures = subscribed.Sum(line => int.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture) + int.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture));
            await Task.WhenAll(nodes.Select(ServerUnderTest.ForceGcAsync));
            result.BytesPerSubscribedConnection = (nodes.Sum(ServerUnderTest.RssBytes) - rssBefore.Sum()) / (double)connections;
            result.EngineRssConnected = ServerUnderTest.RssBytes(enginePid);
            Log(server, $"2 subscriptions each in {result.SubscribeSeconds:F1} s ({result.SubscribeFailures} failed)");

            // What the held connections cost when nothing is sent: the nodes' pings (every PingInterval) and sweeps.
            var idleNode0 = NodeCpu(nodes);
            var idleEngine0 = ServerUnderTest.CpuTime(enginePid);
            var idleLoader0 = LoaderCpu(processes);
            await Task.Delay(IdleWindow);
            result.IdleNodeCpu = NodeCpu(nodes) - idleNode0;
            result.IdleEngineCpu = ServerUnderTest.CpuTime(enginePid) - idleEngine0;
            result.IdleLoaderCpu = LoaderCpu(processes) - idleLoader0;

            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 16 };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
            var management = server.ManagementUris[0];
            for (var round = 1; round <= settings.Rounds; round++)
            {
                result.Broadcast.Add(await DeliverAsync(server, processes, nodes, enginePid, "bc", round, connections,
                    () => PostAsync(http, new Uri(management, "@broadcast"), $$"""{"type":"bc","data":{{Stamp()}}}""")));
                result.OneTopic.Add(await DeliverAsync(server, processes, nodes, enginePid, "one", round, connections,
                    () => PostAsync(http, new Uri(management, "@topics/bench.all?type=one"), Stamp())));
                result.ManyTopics.Add(await DeliverAsync(server, processes, nodes, enginePid, "wild", round, connections, async () =>
                {
                    var next = -1;
                    var failed = 0;
                    await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
                    {
                        int k;
                        while ((k = Interlocked.Increment(ref next)) < Topics)
                        {
                            Interlocked.Add(ref failed, await PostAsync(http, new Uri(management, $"@topics/bench.{k.ToString(CultureInfo.InvariantCulture)}.x?type=wild"), Stamp()));
                        }
                    }));
                    return failed;
                }));
            }

            result.EngineRssAfter = ServerUnderTest.RssBytes(enginePid);
        }
        finally
        {
            foreach (var process in processes)
            {
                process.StandardInput.Close();
            }

            foreach (var process in processes)
            {
                await process.WaitForExitAsync();
                process.Dispose();
            }
        }

        return result;
    }

    /// <summary>One publish (or set of publishes) timed from its first request to the last delivery any load process counted.</summary>
    private static async Task<Delivery> DeliverAsync(ServerUnderTest server, List<Process> processes, int[] nodes, int enginePid, string kind, int round, int connections, Func<Task<int>> publish)
    {
        var nodeCpu0 = NodeCpu(nodes);
        var nodeSystem0 = nodes.Aggregate(TimeSpan.Zero, (sum, pid) => sum + ServerUnderTest.SystemCpuTime(pid));
        var engineCpu0 = ServerUnderTest.CpuTime(enginePid);
        var loaderCpu0 = LoaderCpu(processes);
        var started = Stopwatch.GetTimestamp();
        var failed = await publish();
        var answers = await AskAllAsync(processes, string.Create(CultureInfo.InvariantCulture, $"wait {kind} {round} {(int)DeliveryTimeout.TotalMilliseconds}"));
        var fields = answers.Select(line => line.Split(' ').Take(4).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray()).ToList();
        var histogram = new SortedDictionary<long, long>();
        foreach (var bucket in answers.SelectMany(line => line.Split(' ')[4].Split(',', StringSplitOptions.RemoveEmptyEntries)))
        {
            var pair = bucket.Split(':');
            var ms = long.Parse(pair[0], CultureInfo.InvariantCulture);
            histogram[ms] = histogram.GetValueOrDefault(ms) + long.Parse(pair[1], CultureInfo.InvariantCulture);
        }

        long Percentile(double p)
        {
            var rank = (long)Math.Ceiling(p * histogram.Values.Sum());
            long seen = 0;
            foreach (var (ms, n) in histogram)
            {
                if ((seen += n) >= rank)
                {
                    return ms;
                }
            }

            return histogram.Keys.LastOrDefault();
        }

        var last = fields.Max(f => f[3]);
        var delivery = new Delivery(
            Seconds: (last - started) / (double)Stopwatch.Frequency,
            Received: fields.Sum(f => f[0]),
            Expected: (long)round * connections,
            ShortClients: fields.Sum(f => f[1]),
            OverClients: fields.Sum(f => f[2]),
            FailedRequests: failed,
            NodeCpu: NodeCpu(nodes) - nodeCpu0,
            EngineCpu: ServerUnderTest.CpuTime(enginePid) - engineCpu0,
            LoaderCpu: LoaderCpu(processes) - loaderCpu0,
            P50Ms: Percentile(0.50),
            P99Ms: Percentile(0.99))
        {
            NodeSystemCpu = nodes.Aggregate(TimeSpan.Zero, (sum, pid) => sum + ServerUnderTest.SystemCpuTime(pid)) - nodeSystem0,
        };
        Log(server, $"{kind} round {round}: last delivery after {delivery.Seconds * 1000:F0} ms (p50 {delivery.P50Ms} ms, p99 {delivery.P99Ms} ms), {delivery.Received}/{delivery.Expected} received so far, {delivery.ShortClients} short, {delivery.OverClients} over, {failed} requests failed");
        return delivery;
    }

    /// <summary>The send time a message carries, from the machine's monotonic clock, which the load processes read too.</summary>
    private static string Stamp() => Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture);

    /// <summary>Posts a JSON body; 1 when the answer is not 200.</summary>
    private static async Task<int> PostAsync(HttpClient http, Uri uri, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        try
        {
            using var response = await http.PostAsync(uri, content);
            return response.StatusCode == HttpStatusCode.OK ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return 1;
        }
    }

    /// <summary>Sends a line to every load process (none: only reads) and reads each one's answer line.</summary>
    private static async Task<string[]> AskAllAsync(List<Process> processes, string? command)
    {
        if (command is not null)
        {
            foreach (var process in processes)
            {
                await process.StandardInput.WriteLineAsync(command);
                await process.StandardInput.FlushAsync();
            }
        }

        return await Task.WhenAll(processes.Select(async process =>
            await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"a load process ended (exit code {(process.HasExited ? process.ExitCode : -1)})")));
    }

    private static TimeSpan NodeCpu(int[] nodes) => nodes.Aggregate(TimeSpan.Zero, (sum, pid) => sum + ServerUnderTest.CpuTime(pid));

    private static TimeSpan LoaderCpu(List<Process> processes) => processes.Aggregate(TimeSpan.Zero, (sum, p) => sum + ServerUnderTest.CpuTime(p.Id));

    private static void Log(ServerUnderTest server, string line) => Console.Error.WriteLine($"[{server.Target}] {DateTime.UtcNow:HH:mm:ss} {line}");

    /// <summary>The figures of all clusters, one column each.</summary>
    public static string Table(IReadOnlyList<ClusterResult> results)
    {
        var text = new StringBuilder();
        text.Append("| figure |").AppendJoin("", results.Select(r => $" {r.Target.ToString().ToLowerInvariant()} |")).AppendLine();
        text.Append("| --- |").AppendJoin("", results.Select(_ => " --- |")).AppendLine();
        void Row(string name, Func<ClusterResult, string> value) =>
            text.Append("| ").Append(name).Append(" |").AppendJoin("", results.Select(r => $" {value(r)} |")).AppendLine();

        static string N(double value, string format = "N0") => value.ToString(format, CultureInfo.InvariantCulture);
        static string Mb(long bytes) => N(bytes / 1048576.0, "N0") + " MB";
        static string Median(IReadOnlyList<Delivery> rounds, Func<Delivery, double> value, string format = "N0")
        {
            var sorted = rounds.Select(value).Order().ToArray();
            var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
            return sorted.Length == 1 ? N(median, format) : $"{N(median, format)} ({N(sorted[0], format)}–{N(sorted[^1], format)})";
        }

        static string Lost(IReadOnlyList<Delivery> rounds)
        {
            var last = rounds[^1];
            return $"{N(last.Expected - last.Received)} lost, {N(last.OverClients)} doubled, {N(rounds.Sum(d => d.FailedRequests))} failed requests";
        }

        Row("machine load average (1 min) at the start", r => r.LoadAverage);
        Row("nodes × connections", r => $"{r.Nodes} × {N(r.Connections / (double)r.Nodes)} = {N(r.Connections)}");
        Row("connect: wall time (handshakes/s)", r => $"{N(r.ConnectSeconds, "N1")} s ({N(r.Connections / r.ConnectSeconds)}/s), {N(r.ConnectRetries)} retried");
        Row("connect: CPU of nodes / engine / load processes", r => $"{N(r.ConnectNodeCpu.TotalSeconds, "N1")} / {N(r.ConnectEngineCpu.TotalSeconds, "N1")} / {N(r.ConnectLoaderCpu.TotalSeconds, "N1")} s");
        Row("subscribe (2 per connection): wall time, failures", r => $"{N(r.SubscribeSeconds, "N1")} s, {N(r.SubscribeFailures)}");
        Row("memory per idle connection, all nodes (VmRSS after full GC)", r => $"{N(r.BytesPerConnection / 1024, "N1")} KB (nodes {string.Join(", ", r.NodeBytesPerConnection.Select(b => N(b / 1024, "N1")))})");
        Row("… with its 2 subscriptions", r => $"{N(r.BytesPerSubscribedConnection / 1024, "N1")} KB");
        Row("nodes' VmRSS in all, connected", r => Mb(r.NodeRssConnected));
        Row("engine VmRSS: before / connected and subscribed / at the end", r => $"{Mb(r.EngineRssBefore)} / {Mb(r.EngineRssConnected)} / {Mb(r.EngineRssAfter)}");
        Row("load processes' VmRSS in all", r => Mb(r.LoaderRss));
        Row($"idle, all connected: CPU % of one core over {IdleWindow.TotalSeconds:F0} s, nodes / engine / load processes", r =>
            $"{N(r.IdleNodeCpu / IdleWindow * 100, "N1")} / {N(r.IdleEngineCpu / IdleWindow * 100, "N1")} / {N(r.IdleLoaderCpu / IdleWindow * 100, "N1")}");
        foreach (var (name, pick) in new (string, Func<ClusterResult, List<Delivery>>)[]
        {
            ("`POST /@broadcast`", r => r.Broadcast),
            ("one topic, every connection subscribed", r => r.OneTopic),
            ("1,000 topics (`bench.{k}.x`, subscribed as `bench.{i % 1000}.*`)", r => r.ManyTopics),
        })
        {
            Row(name + ": ms to the last delivery, median (min–max)", r => Median(pick(r), d => d.Seconds * 1000));
            Row("… latency of a delivery, p50 / p99 (ms), median of the rounds", r => $"{Median(pick(r), d => d.P50Ms)} / {Median(pick(r), d => d.P99Ms)}");
            Row("… deliveries/s", r => Median(pick(r), d => r.Connections / d.Seconds));
            Row("… CPU ms per round: nodes / engine / load processes", r => $"{Median(pick(r), d => d.NodeCpu.TotalMilliseconds)} / {Median(pick(r), d => d.EngineCpu.TotalMilliseconds)} / {Median(pick(r), d => d.LoaderCpu.TotalMilliseconds)}");
            Row("… µs of node CPU per delivery, and the kernel's part of it", r => $"{Median(pick(r), d => d.NodeCpu.TotalMilliseconds * 1000 / r.Connections, "N1")}; kernel {Median(pick(r), d => d.NodeSystemCpu.TotalMilliseconds * 1000 / r.Connections, "N1")}");
            Row("… after all rounds", r => Lost(pick(r)));
        }

        return text.ToString();
    }
}

/// <summary>
/// One timed delivery to every connection; <c>P50Ms</c> and <c>P99Ms</c> are percentiles of every connection's latency
/// (from its publish's request to its delivery), in whole milliseconds.
/// </summary>
public sealed record Delivery(double Seconds, long Received, long Expected, long ShortClients, long OverClients, int FailedRequests, TimeSpan NodeCpu, TimeSpan EngineCpu, TimeSpan LoaderCpu, long P50Ms, long P99Ms)
{
    /// <summary>The kernel's part of <see cref="NodeCpu"/>.</summary>
    public TimeSpan NodeSystemCpu { get; init; }
}

/// <summary>What one cluster measured.</summary>
public sealed class ClusterResult(Target target, int connections, int nodes)
{
    /// <summary>The cluster: six nodes on Redis or on NATS.</summary>
    public Target Target { get; } = target;

    /// <summary>Connections held, over all nodes.</summary>
    public int Connections { get; } = connections;

    /// <summary>Gateway nodes.</summary>
    public int Nodes { get; } = nodes;

    /// <summary>The machine's one-minute load average when the cluster started (/proc/loadavg): how busy the machine was.</summary>
    public string LoadAverage { get; init; } = "";

    /// <summary>From starting the load processes to every connection's connected frame.</summary>
    public double ConnectSeconds { get; set; }

    /// <summary>The nodes' CPU over the idle window, everything connected and subscribed.</summary>
    public TimeSpan IdleNodeCpu { get; set; }

    /// <summary>The engine's CPU over the idle window.</summary>
    public TimeSpan IdleEngineCpu { get; set; }

    /// <summary>The load processes' CPU over the idle window.</summary>
    public TimeSpan IdleLoaderCpu { get; set; }

    /// <summary>Connection attempts that failed and were tried again.</summary>
    public int ConnectRetries { get; set; }

    /// <summary>The nodes' CPU while connecting.</summary>
    public TimeSpan ConnectNodeCpu { get; set; }

    /// <summary>The engine's CPU while connecting.</summary>
    public TimeSpan ConnectEngineCpu { get; set; }

    /// <summary>The load processes' CPU while connecting.</summary>
    public TimeSpan ConnectLoaderCpu { get; set; }

    /// <summary>From the subscribe command to every connection's two answers.</summary>
    public double SubscribeSeconds { get; set; }

    /// <summary>Subscriptions not sent or not answered <c>subscribed</c>, and other frames that came instead.</summary>
    public int SubscribeFailures { get; set; }

    /// <summary>The nodes' VmRSS growth (each after a full GC) per connection, before any subscription.</summary>
    public double BytesPerConnection { get; set; }

    /// <summary>The same, node by node.</summary>
    public double[] NodeBytesPerConnection { get; set; } = [];

    /// <summary>The same with the connections' two subscriptions.</summary>
    public double BytesPerSubscribedConnection { get; set; }

    /// <summary>The nodes' VmRSS in all, connected, after a full GC.</summary>
    public long NodeRssConnected { get; set; }

    /// <summary>The engine's VmRSS before connecting.</summary>
    public long EngineRssBefore { get; set; }

    /// <summary>The engine's VmRSS, connected and subscribed.</summary>
    public long EngineRssConnected { get; set; }

    /// <summary>The engine's VmRSS after every round.</summary>
    public long EngineRssAfter { get; set; }

    /// <summary>The load processes' VmRSS in all, connected.</summary>
    public long LoaderRss { get; set; }

    /// <summary>Each round's <c>POST /@broadcast</c>.</summary>
    public List<Delivery> Broadcast { get; } = [];

    /// <summary>Each round's publish to the topic every connection subscribed to.</summary>
    public List<Delivery> OneTopic { get; } = [];

    /// <summary>Each round's 1,000 publishes, one per topic.</summary>
    public List<Delivery> ManyTopics { get; } = [];
}
