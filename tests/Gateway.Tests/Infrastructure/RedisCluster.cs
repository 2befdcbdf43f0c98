using System.Diagnostics;
using System.Globalization;

namespace Gateway.Tests.Infrastructure;

/// <summary>A three-shard Redis Cluster on loopback (three masters, no replicas), made with <c>redis-cli --cluster create</c>.</summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private readonly List<Process> _servers = [];
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("gateway-cluster-");

    public IReadOnlyList<int> Ports { get; private set; } = [];

    public string Configuration => string.Join(',', Ports.Select(p => $"127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));

    public static async Task<RedisCluster> StartAsync()
    {
        var cluster = new RedisCluster();
        var ports = Enumerable.Range(0, 3).Select(_ => NodeProcess.FreePort()).ToList();
        cluster.Ports = ports;
        foreach (var port in ports)
        {
            var p = port.ToString(CultureInfo.InvariantCulture);
            var info = new ProcessStartInfo("redis-server", ["--port", p, "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", $"nodes-{p}.conf",
                "--save", "", "--appendonly", "no", "--protected-mode", "no"])
            {
                WorkingDirectory = cluster._directory.FullName,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            cluster._servers.Add(process);
        }

        foreach (var port in ports)
        {
            await Wait.UntilAsync(async () => (await CliAsync(["-p", port.ToString(CultureInfo.InvariantCulture), "ping"])).Contains("PONG", StringComparison.Ordinal), $"cluster node {port} answers");
        }

        var create = await CliAsync(["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"), "--cluster-replicas", "0", "--cluster-yes"]);
        if (!create.Contains("All 16384 slots covered", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("redis-cli --cluster create failed: " + create);
        }

        foreach (var port in ports)
        {
            await Wait.UntilAsync(async () => (await CliAsync(["-p", port.ToString(CultureInfo.InvariantCulture), "cluster", "info"])).Contains("cluster_state:ok", StringComparison.Ordinal),
                "the cluster is ok", TimeSpan.FromSeconds(30));
        }

        return cluster;
    }

    /// <summary>Runs redis-cli and returns what it printed.</summary>
    public static async Task<string> CliAsync(string[] arguments)
    {
        var info = new ProcessStartInfo("redis-cli", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return await output + await error;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _servers)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        _directory.Delete(recursive: true);
    }
}
