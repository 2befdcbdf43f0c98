using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// One <c>nats-server</c> process run from a configuration file, its last lines of output kept for failure messages, and
/// the probes that tell it is ready: the <c>INFO</c> line a client gets on connecting, and the monitoring endpoint.
/// </summary>
public sealed class NatsProcess : IDisposable
{
    private const int KeptLines = 200;

    // The apt package installs to /usr/sbin, which is not on every user's PATH.
    private static readonly string Executable = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Append("/usr/sbin")
        .Select(directory => Path.Combine(directory, "nats-server"))
        .FirstOrDefault(File.Exists) ?? "nats-server";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private NatsProcess(Process process) => _process = process;

    /// <summary>True once the process has ended (killed, or failed to start with its configuration).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the server printed.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts <c>nats-server -c <paramref name="configFile"/></c>.</summary>
    public static NatsProcess Start(string configFile)
    {
        var info = new ProcessStartInfo(Executable, ["-c", configFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("nats-server did not start");
        var server = new NatsProcess(process);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary><paramref name="count"/> distinct free loopback ports (all held open at once while they are chosen).</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }

    /// <summary>True when a client connecting to <paramref name="port"/> is greeted with the server's <c>INFO {</c> line.</summary>
    public static async Task<bool> AcceptsClientsAsync(int port)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var buffer = new byte[6];
            await client.GetStream().ReadExactlyAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer) == "INFO {";
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The JSON a monitoring endpoint (<c>/healthz</c>, <c>/jsz</c>, <c>/routez</c>...) answers with 200, or null.</summary>
    public static async Task<JsonElement?> MonitorAsync(int monitorPort, string path)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{monitorPort}{path}"));
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Kills the process at once (SIGKILL, as an outage would) and waits until it has gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }
    }
}
