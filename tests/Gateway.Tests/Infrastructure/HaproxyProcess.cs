using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Gateway.Tests.Infrastructure;

/// <summary>A real haproxy on loopback in front of gateway nodes, configured as docker/haproxy.cfg is (no DNS, fixed ports).</summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _config;

    private HaproxyProcess(Process process, string config, int clientPort, int managementPort)
    {
        _process = process;
        _config = config;
        ClientPort = clientPort;
        ManagementPort = managementPort;
    }

    public int ClientPort { get; }

    public int ManagementPort { get; }

    /// <summary>Starts haproxy in front of <paramref name="nodes"/>; <paramref name="clientRules"/> are lines added to the clients' frontend (such as a deny rule).</summary>
    public static async Task<HaproxyProcess> StartAsync(IReadOnlyList<(Uri Client, Uri Management)> nodes, IEnumerable<string>? clientRules = null)
    {
        var clientPort = NodeProcess.FreePort();
        var managementPort = NodeProcess.FreePort();
        var statsPort = NodeProcess.FreePort();
        var config = new StringBuilder()
            .AppendLine("global\n    maxconn 4000")
            // A check counts as failed when the node refuses the connection or answers non-200 (a killed node is seen at once),
            // not when a loaded machine is slow to answer it: without "timeout check", the 300 ms interval is the check's
            // whole time limit, and with "fall 1" one slow answer took a live node out.
            .AppendLine("defaults\n    mode http\n    option http-server-close\n    option redispatch 1\n    retries 3\n    timeout connect 5s\n    timeout check 5s\n    timeout client 65s\n    timeout server 65s\n    timeout tunnel 1h\n    timeout client-fin 5s")
            .AppendLine(CultureInfo.InvariantCulture, $"frontend stats\n    bind 127.0.0.1:{statsPort}\n    stats enable\n    stats uri /stats")
            .AppendLine(CultureInfo.InvariantCulture, $"frontend clients\n    bind 127.0.0.1:{clientPort}\n    default_backend gateway_clients{string.Concat((clientRules ?? []).Select(r => "\n    " + r))}")
            .AppendLine(CultureInfo.InvariantCulture, $"frontend management\n    bind 127.0.0.1:{managementPort}\n    default_backend gateway_management")
            .AppendLine("backend gateway_clients\n    balance roundrobin\n    retry-on conn-failure empty-response 503\n    option httpchk GET \"/readyz?scope=local\"\n    http-check expect status 200");
        for (var i = 0; i < nodes.Count; i++)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"    server gw{i} 127.0.0.1:{nodes[i].Client.Port} check inter 300ms fall 1 rise 1");
        }

        config.AppendLine("backend gateway_management\n    balance roundrobin\n    option httpchk GET \"/readyz?scope=local\"\n    http-check expect status 200");
        for (var i = 0; i < nodes.Count; i++)
        {
            config.AppendLine(CultureInfo.InvariantCulture, $"    server gw{i} 127.0.0.1:{nodes[i].Management.Port} check inter 300ms fall 1 rise 1");
        }

        var path = Path.Combine(Path.GetTempPath(), $"gateway-haproxy-{Guid.NewGuid():N}.cfg");
        await File.WriteAllTextAsync(path, config.ToString());
        var info = new ProcessStartInfo("haproxy", ["-f", path, "-db"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException("haproxy did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var haproxy = new HaproxyProcess(process, path, clientPort, managementPort);
        using var http = new HttpClient();
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(new Uri($"http://127.0.0.1:{managementPort}/readyz"))).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "haproxy forwarded to a ready node");

        // Every server of both backends up (its own checks passed), as a load balancer is before it takes traffic.
        await Wait.UntilAsync(async () =>
        {
            var csv = await http.GetStringAsync(new Uri($"http://127.0.0.1:{statsPort}/stats;csv"));
            var servers = csv.Split('\n').Select(l => l.Split(',')).Where(f => f.Length > 17 && f[1].StartsWith("gw", StringComparison.Ordinal)).ToList();
            return servers.Count == 2 * nodes.Count && servers.All(f => f[17] == "UP");
        }, "haproxy saw every node up", TimeSpan.FromSeconds(30));
        return haproxy;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        File.Delete(_config);
    }
}
