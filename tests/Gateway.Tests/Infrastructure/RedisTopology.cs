namespace Gateway.Tests.Infrastructure;

/// <summary>
/// The scale-out topology as users run it, as processes on loopback: one redis-server, <c>N</c> published gateway
/// processes on it (a fast heartbeat, so a killed node is noticed in seconds), and haproxy in front (round robin, no
/// affinity). Everything is stopped when it is disposed, haproxy first.
/// </summary>
public sealed class RedisTopology : IAsyncDisposable
{
    private RedisTopology(RedisServer redis, IReadOnlyList<ServerProcess> processes, IReadOnlyList<(Uri Client, Uri Management)> nodes, HaproxyProcess haproxy)
    {
        Redis = redis;
        Processes = processes;
        Nodes = nodes;
        Haproxy = haproxy;
    }

    public RedisServer Redis { get; }

    public IReadOnlyList<ServerProcess> Processes { get; }

    /// <summary>Each node's own client and management listener, in the order of <see cref="Processes"/>.</summary>
    public IReadOnlyList<(Uri Client, Uri Management)> Nodes { get; }

    public HaproxyProcess Haproxy { get; }

    /// <summary>Starts <paramref name="count"/> nodes with <paramref name="settings"/> (environment variables) beside the Redis ones.</summary>
    public static async Task<RedisTopology> StartAsync(int count, IReadOnlyDictionary<string, string> settings, IEnumerable<string>? clientRules = null)
    {
        var redis = await RedisServer.StartAsync();
        var processes = new List<ServerProcess>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var environment = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["Gateway__Redis__Configuration"] = redis.Configuration,
                    ["Gateway__Redis__HeartbeatInterval"] = "00:00:00.500",
                    ["Gateway__Redis__NodeTtl"] = "00:00:02",
                };
                foreach (var (key, value) in settings)
                {
                    environment[key] = value;
                }

                processes.Add(ServerProcess.Start(environment));
            }

            var nodes = new List<(Uri Client, Uri Management)>();
            foreach (var process in processes)
            {
                nodes.Add(await process.WaitForListenersAsync());
            }

            return new RedisTopology(redis, processes, nodes, await HaproxyProcess.StartAsync(nodes, clientRules));
        }
        catch
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }

            await redis.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Haproxy.DisposeAsync();
        foreach (var process in Processes)
        {
            await process.DisposeAsync();
        }

        await Redis.DisposeAsync();
    }
}
