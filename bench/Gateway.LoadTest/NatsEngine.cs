using System.Globalization;
using System.Text.Json;

namespace Gateway.LoadTest;

/// <summary>
/// nats-server with JetStream (the gateway's history streams and key-value buckets need it) on a free loopback port,
/// its store a fresh temporary folder deleted afterwards, and its monitoring endpoint on another port.
/// </summary>
public sealed class NatsEngine : EngineProcess
{
    // The apt package installs to /usr/sbin, which is not on every user's PATH.
    private static readonly string Executable = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Append("/usr/sbin")
        .Select(directory => Path.Combine(directory, "nats-server"))
        .FirstOrDefault(File.Exists) ?? "nats-server";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private readonly DirectoryInfo _store;
    private readonly int _port;
    private readonly int _monitorPort;

    private NatsEngine(DirectoryInfo store, int port, int monitorPort)
        : base(Executable, ["-js", "-sd", store.FullName, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-m", monitorPort.ToString(CultureInfo.InvariantCulture)])
    {
        _store = store;
        _port = port;
        _monitorPort = monitorPort;
    }

    public override (string Name, string Value) GatewaySetting => ("Gateway__Nats__Url", $"nats://127.0.0.1:{_port}");

    /// <summary>Starts the server and waits until its <c>/healthz</c> (which includes JetStream) answers 200.</summary>
    public static async Task<NatsEngine> StartAsync()
    {
        var port = ServerUnderTest.FreePort();
        int monitorPort;
        do
        {
            monitorPort = ServerUnderTest.FreePort();
        }
        while (monitorPort == port);

        var engine = new NatsEngine(Directory.CreateTempSubdirectory("gateway-bench-nats-"), port, monitorPort);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (engine.Process.HasExited)
                {
                    throw new InvalidOperationException($"nats-server exited with {engine.Process.ExitCode}:\n{engine.Output}");
                }

                if (await engine.MonitorAsync("healthz") is not null)
                {
                    return engine;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("nats-server did not become ready:\n" + engine.Output);
                }

                await Task.Delay(100);
            }
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>Messages into and out of nats-server so far (all subjects, JetStream's own included), from <c>/varz</c>.</summary>
    public override async Task<EngineCounters> CountersAsync()
    {
        var varz = await MonitorAsync("varz") ?? throw new InvalidOperationException("nats-server's /varz did not answer:\n" + Output);
        return new EngineCounters(null, varz.GetProperty("in_msgs").GetInt64(), varz.GetProperty("out_msgs").GetInt64());
    }

    protected override async ValueTask DisposeCoreAsync()
    {
        await base.DisposeCoreAsync();
        _store.Delete(recursive: true);
    }

    /// <summary>The JSON a monitoring endpoint answers with 200, or null.</summary>
    private async Task<JsonElement?> MonitorAsync(string path)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{_monitorPort}/{path}"));
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
}
