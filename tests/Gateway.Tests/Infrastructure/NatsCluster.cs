using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// Real <c>nats-server</c> processes on loopback joined as one cluster: each has a <c>server_name</c>, routes to all
/// the others and JetStream with a store of its own, so JetStream is clustered and streams and key-value buckets with
/// three replicas work. Ready when every running server greets clients, answers <c>/healthz</c> with 200, has its
/// routes to the others, and all of them name the same running JetStream meta leader. Measured on two cores: three new
/// servers are ready in 0.2 to 0.4 s; one server killed and started again, 2 s (up to 6 s when it was the meta leader,
/// which the others replace first); all three killed and started again, 4 to 6 s.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long readiness waits for every stream to be current before it settles for each server's own JetStream.</summary>
    private static readonly TimeSpan StreamsGrace = TimeSpan.FromSeconds(10);

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("gateway-nats-cluster-");
    private readonly int[] _ports;
    private readonly int[] _routePorts;
    private readonly int[] _monitorPorts;
    private readonly NatsProcess?[] _servers;

    private NatsCluster(int size)
    {
        var ports = NatsProcess.FreePorts(3 * size);
        _ports = ports[..size];
        _routePorts = ports[size..(2 * size)];
        _monitorPorts = ports[(2 * size)..];
        _servers = new NatsProcess?[size];
    }

    /// <summary>The client port of each server.</summary>
    public IReadOnlyList<int> Ports => _ports;

    /// <summary>The HTTP monitoring port of each server.</summary>
    public IReadOnlyList<int> MonitorPorts => _monitorPorts;

    /// <summary>Every server's URL, comma-separated, as NATS clients take seed servers: <c>nats://127.0.0.1:p1,nats://127.0.0.1:p2,...</c>.</summary>
    public string Urls => string.Join(',', _ports.Select(UrlOf));

    /// <summary>The URL of one server.</summary>
    public string Url(int index) => UrlOf(_ports[index]);

    /// <summary>The <c>server_name</c> of one server.</summary>
    public static string ServerName(int index) => "nats-" + index.ToString(CultureInfo.InvariantCulture);

    public static async Task<NatsCluster> StartAsync(int size = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 2);
        var cluster = new NatsCluster(size);
        try
        {
            await cluster.StartAllAgainAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Kills one server (SIGKILL, as an outage would); the others are not waited on.</summary>
    public async Task KillAsync(int index)
    {
        if (_servers[index] is { } server)
        {
            _servers[index] = null;
            await server.KillAsync();
            server.Dispose();
        }
    }

    /// <summary>Starts a killed server again, on the same ports and with the same store, and waits until the cluster is ready.</summary>
    public async Task StartAgainAsync(int index)
    {
        await LaunchAsync(index);
        await WaitReadyAsync();
    }

    /// <summary>Kills every server.</summary>
    public async Task KillAllAsync()
    {
        for (var i = 0; i < _servers.Length; i++)
        {
            await KillAsync(i);
        }
    }

    /// <summary>Starts every killed server again and waits until the cluster is ready.</summary>
    public async Task StartAllAgainAsync()
    {
        for (var i = 0; i < _servers.Length; i++)
        {
            if (_servers[i] is null)
            {
                await LaunchAsync(i);
            }
        }

        await WaitReadyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAllAsync();
        _directory.Delete(recursive: true);
    }

    private static string UrlOf(int port) => $"nats://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";

    private async Task LaunchAsync(int index)
    {
        if (_servers[index] is not null)
        {
            throw new InvalidOperationException($"{ServerName(index)} is running");
        }

        var config = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"server_name: \"{ServerName(index)}\"")
            .AppendLine(CultureInfo.InvariantCulture, $"listen: \"127.0.0.1:{_ports[index]}\"")
            .AppendLine(CultureInfo.InvariantCulture, $"http: \"127.0.0.1:{_monitorPorts[index]}\"")
            .AppendLine("jetstream {")
            .AppendLine(CultureInfo.InvariantCulture, $"  store_dir: \"{Path.Combine(_directory.FullName, ServerName(index))}\"")
            .AppendLine("}")
            .AppendLine("cluster {")
            .AppendLine("  name: \"gateway-test\"")
            .AppendLine(CultureInfo.InvariantCulture, $"  listen: \"127.0.0.1:{_routePorts[index]}\"")
            .AppendLine("  routes: [");
        for (var peer = 0; peer < _routePorts.Length; peer++)
        {
            if (peer != index)
            {
                config.AppendLine(CultureInfo.InvariantCulture, $"    \"nats-route://127.0.0.1:{_routePorts[peer]}\"");
            }
        }

        config.AppendLine("  ]").AppendLine("}");
        var path = Path.Combine(_directory.FullName, ServerName(index) + ".conf");
        await File.WriteAllTextAsync(path, config.ToString());
        _servers[index] = NatsProcess.Start(path);
    }

    private async Task WaitReadyAsync()
    {
        try
        {
            // Every stream current too, as a cluster that was never down would be; but after the whole cluster was down a
            // stream's replica can take long to be current again, so past StreamsGrace the server's own JetStream will do
            // (the gateway rides that out, as it would in production).
            var started = System.Diagnostics.Stopwatch.StartNew();
            await Wait.UntilAsync(() => ReadyAsync(streamsToo: started.Elapsed < StreamsGrace), "every running nats-server accepted clients, had its routes and named the same JetStream meta leader", ReadyTimeout);
        }
        catch (TimeoutException e)
        {
            var output = new StringBuilder(e.Message);
            for (var i = 0; i < _servers.Length; i++)
            {
                if (_servers[i] is { } server)
                {
                    output.Append("\n--- ").Append(ServerName(i)).Append(":\n").Append(server.Output);
                }
            }

            throw new TimeoutException(output.ToString(), e);
        }
    }

    private async Task<bool> ReadyAsync(bool streamsToo)
    {
        var running = Enumerable.Range(0, _servers.Length).Where(i => _servers[i] is not null).ToList();
        string? leader = null;
        foreach (var i in running)
        {
            if (_servers[i] is { HasExited: true } server)
            {
                throw new InvalidOperationException($"{ServerName(i)} exited:\n{server.Output}");
            }

            if (!await NatsProcess.AcceptsClientsAsync(_ports[i]) || await NatsProcess.MonitorAsync(_monitorPorts[i], streamsToo ? "/healthz" : "/healthz?js-server-only=true") is null)
            {
                return false;
            }

            // One route per peer on 2.9; pooled routes (2.10 and later) only add to the count.
            if (await NatsProcess.MonitorAsync(_monitorPorts[i], "/routez") is not { } routez || routez.GetProperty("num_routes").GetInt32() < running.Count - 1)
            {
                return false;
            }

            // A server keeps naming a killed leader until the others have elected a new one.
            if (await NatsProcess.MonitorAsync(_monitorPorts[i], "/jsz") is not { } jsz
                || !jsz.TryGetProperty("meta_cluster", out var meta)
                || !meta.TryGetProperty("leader", out var named)
                || named.ValueKind != JsonValueKind.String
                || named.GetString() is not { Length: > 0 } name
                || (leader is not null && leader != name))
            {
                return false;
            }

            leader = name;
        }

        return running.Any(i => ServerName(i) == leader);
    }
}
