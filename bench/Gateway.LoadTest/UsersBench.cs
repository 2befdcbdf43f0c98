using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Gateway.LoadTest;

/// <summary>
/// <c>GET /@users/{id}</c> on three nodes: C connections of <see cref="Users"/> users (JWT subjects <c>user-000</c>…),
/// spread over the nodes round robin, so that every user has connections on every node. Then, for each of three calls,
/// a fixed number of requests one after another (<c>--requests</c>), asked through each node in turn, each timed (the
/// three calls interleaved; a call's requests/s is its number of requests over the time they took): the
/// user lookup, which asks every node and waits for them all; as its baseline <c>GET /@connections/{id}</c> of a
/// connection held by another node, which asks that one node through the engine; and as the floor of a management
/// call <c>GET /@connections?scope=node&amp;limit=10</c>, which asks no other node. Every answer is checked: a user
/// lookup must find all of the user's connections with <c>"complete": true</c>.
/// </summary>
public static class UsersBench
{
    /// <summary>How many distinct users the connections belong to.</summary>
    public const int Users = 100;

    /// <summary>The calls, in the order they are measured.</summary>
    public static readonly string[] Calls = [LocalCall, OtherNodeCall, UserCall];

    private const string LocalCall = "GET /@connections?scope=node (no other node)";
    private const string OtherNodeCall = "GET /@connections/{id} (another node's)";
    private const string UserCall = "GET /@users/{id} (every node)";

    public static async Task<RunResult[]> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        var nodes = server.ClientUris.Count;
        var users = Math.Min(Users, settings.Connections);
        var clients = new BenchClient[settings.Connections];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(64, clients.Length)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < clients.Length)
            {
                var uri = new Uri(server.ClientUris[i % nodes], "?token=" + BenchTokens.Hs256(UserId(i % users)));
                clients[i] = await BenchClient.ConnectAsync(uri, readConnectedFrame: true);
            }
        }));

        // Each client keeps reading, so that the server's pings are answered.
        using var cts = new CancellationTokenSource();
        var receivers = clients.Select(async client =>
        {
            try
            {
                while (true)
                {
                    await client.ReceiveAsync(cts.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
            }
        }).ToList();

        // A connection id names its node in its first 8 characters: the clients of each node, by the node's index.
        var byNode = Enumerable.Range(0, nodes).Select(n => clients.Where((_, i) => i % nodes == n).Select(c => c.Id).ToArray()).ToArray();
        var perUser = Enumerable.Range(0, users).Select(u => Enumerable.Range(0, clients.Length).Count(i => i % users == u)).ToArray();

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };

        // Request k of a call goes through node k % nodes.
        async Task<bool> AskAsync(string call, int k)
        {
            var node = k % nodes;
            var management = server.ManagementUris[node];
            var user = k % users;
            var path = call switch
            {
                LocalCall => "@connections?scope=node&limit=10",
                OtherNodeCall => "@connections/" + byNode[(node + 1) % nodes][k / nodes % byNode[(node + 1) % nodes].Length],
                _ => "@users/" + UserId(user),
            };
            using var response = await http.GetAsync(new Uri(management, path));
            var body = await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            if (call != UserCall)
            {
                return true;
            }

            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.GetProperty("count").GetInt32() == perUser[user] && doc.RootElement.GetProperty("complete").GetBoolean();
        }

        // Every node knows the others once a user lookup through each of them finds the user's connections on all.
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
        for (var node = 0; node < nodes; node++)
        {
            while (!await AskAsync(UserCall, node))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new InvalidOperationException($"{server.Target}: a user lookup through node {node} did not find the user's connections on every node");
                }

                await Task.Delay(100);
            }
        }

        // A warm-up, then the measured requests: the three calls interleaved (request k of each call, in an order that
        // turns with k), so that whatever else the machine does in the meantime falls on all three alike.
        for (var k = 0; k < Math.Max(nodes, settings.Requests / 10); k++)
        {
            foreach (var call in Calls)
            {
                await AskAsync(call, k);
            }
        }

        var latencies = Calls.Select(_ => new Latency()).ToArray();
        var busy = new long[Calls.Length];
        var failed = new long[Calls.Length];
        using var self = Process.GetCurrentProcess();
        var server0 = server.CpuTime();
        var backend0 = server.BackendCpuTime();
        self.Refresh();
        var client0 = self.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        for (var k = 0; k < settings.Requests; k++)
        {
            for (var j = 0; j < Calls.Length; j++)
            {
                var c = (j + k) % Calls.Length;
                var at = Stopwatch.GetTimestamp();
                var ok = await AskAsync(Calls[c], k);
                var took = Stopwatch.GetTimestamp() - at;
                latencies[c].Add(took);
                busy[c] += took;
                if (!ok)
                {
                    failed[c]++;
                }
            }
        }

        // The CPU of the window is shared by the three calls: each row carries it whole, for the whole window's requests.
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        self.Refresh();
        var serverCpu = server.CpuTime() - server0;
        var backendCpu = server.BackendCpuTime() - backend0;
        var clientCpu = self.TotalProcessorTime - client0;
        var results = Calls.Select((call, c) => new RunResult(server.Target, round, clients.Length, busy[c] / (double)Stopwatch.Frequency, settings.Requests,
            serverCpu, clientCpu, latencies[c], failed[c], BackendCpu: backendCpu)
        {
            Label = call,
            WindowSeconds = seconds,
        }).ToList();

        await cts.CancelAsync();
        await Task.WhenAll(receivers);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        return [.. results];
    }

    private static string UserId(int user) => $"user-{user:D3}";
}
