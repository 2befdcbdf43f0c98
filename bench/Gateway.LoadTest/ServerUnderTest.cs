using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Diagnostics.NETCore.Client;

namespace Gateway.LoadTest;

/// <summary>What is measured: the gateway, or one of the bare baselines.</summary>
public enum Target
{
    Bare,
    Gateway,

    /// <summary>The gateway with <c>Listeners:InlineScheduling</c> off: every socket completion handed to the thread pool (the earlier default).</summary>
    GatewayThreadPool,

    /// <summary>The bare Node <c>ws</c> echo (<c>bench/NodeEcho</c>): the fastest WebSocket stack measured on these machines.</summary>
    NodeWs,

    /// <summary>The gateway with <c>$default</c> → an <c>http</c> integration (two-way) to a minimal loopback backend.</summary>
    GatewayHttp,

    /// <summary>The gateway with JWT authentication on <c>$connect</c> (HS256, a configured secret).</summary>
    GatewayJwt,

    /// <summary>The gateway with management credentials configured: every push carries an API key (<c>x-api-key</c>).</summary>
    GatewayAuth,

    /// <summary>The gateway with JWT authentication on <c>$connect</c> (RS256, a configured PEM public key).</summary>
    GatewayJwtRsa,

    /// <summary>Two gateway nodes sharing a redis-server; clients on node A, pushes posted to node A (same node).</summary>
    RedisLocal,

    /// <summary>Two gateway nodes sharing a redis-server; clients on node A, pushes posted to node B (another node).</summary>
    RedisRemote,

    /// <summary>Three gateway nodes sharing a redis-server; subscribers spread over all three, publishes posted to node A.</summary>
    RedisFanout,

    /// <summary>One gateway node with the in-memory backplane; the same subscribers and publishes (the single-node reference).</summary>
    LocalFanout,

    /// <summary>The gateway with <c>Connections:Compression</c> On (permessage-deflate for clients that offer it).</summary>
    GatewayDeflate,

    /// <summary>One gateway node, the same subscribers and publishes, with <c>Connections:Compression</c> On.</summary>
    LocalFanoutDeflate,

    /// <summary>Two gateway nodes sharing a nats-server (with JetStream); clients on node A, pushes posted to node A (same node).</summary>
    NatsLocal,

    /// <summary>Two gateway nodes sharing a nats-server (with JetStream); clients on node A, pushes posted to node B (another node).</summary>
    NatsRemote,

    /// <summary>Three gateway nodes sharing a nats-server (with JetStream); subscribers spread over all three, publishes posted to node A.</summary>
    NatsFanout,

    /// <summary>Three gateway nodes sharing a redis-server, with JWT authentication (the users benchmark: clients of many users on every node).</summary>
    Redis3,

    /// <summary>Three gateway nodes sharing a nats-server (with JetStream), with JWT authentication (the users benchmark).</summary>
    Nats3,

    /// <summary>
    /// The gateway with its clients on the HTTP/2-only listener (<c>Gateway:Listeners:ClientHttp2</c>, h2c): every
    /// WebSocket an extended CONNECT stream, as many per TCP connection as Kestrel allows (100 by default).
    /// </summary>
    GatewayH2,

    /// <summary>The gateway as <see cref="Gateway"/>, its clients on the Server-Sent Events stream (<c>GET /sse</c>) instead of WebSockets.</summary>
    GatewaySse,

    /// <summary>Six gateway nodes sharing a redis-server (the cluster benchmark: 100,000 connections spread over them).</summary>
    Redis6,

    /// <summary>Six gateway nodes sharing a nats-server (with JetStream), for the cluster benchmark.</summary>
    Nats6,
}

/// <summary>A server started as its own process for one run, with its CPU time and memory read from /proc.</summary>
public sealed class ServerUnderTest : IAsyncDisposable
{
    private readonly Process _process;
    private Process? _backend;
    private readonly List<Process> _otherNodes = [];
    private EngineProcess? _engine;

    /// <summary>
    /// Servers start from a folder of their own, not their install folder, as a systemd unit without WorkingDirectory
    /// or a script starts them: what users run is what is measured.
    /// </summary>
    private static readonly string ElsewhereFolder = Directory.CreateTempSubdirectory("gateway-bench-cwd-").FullName;

    private ServerUnderTest(Process process, Target target, bool sendsConnectedFrame, int clientPort, int managementPort)
    {
        _process = process;
        Target = target;
        SendsConnectedFrame = sendsConnectedFrame;
        ClientUri = new Uri($"ws://127.0.0.1:{clientPort}/");
        ClientUris = [ClientUri];
        ManagementUris = [new Uri($"http://127.0.0.1:{managementPort}/")];
        PushBase = target != Target.Bare ? new Uri($"http://127.0.0.1:{managementPort}/@connections/") : new Uri($"http://127.0.0.1:{clientPort}/push/");
    }

    public Target Target { get; }

    public Uri ClientUri { get; }

    /// <summary>Where clients connect: every node's client listener (one for a single node).</summary>
    public IReadOnlyList<Uri> ClientUris { get; private set; } = [];

    /// <summary>Every node's management listener (<c>http://127.0.0.1:port/</c>), the first node's first; one for a single node.</summary>
    public IReadOnlyList<Uri> ManagementUris { get; private set; } = [];

    /// <summary>Where a topic publish is posted.</summary>
    public Uri PublishUri => new(PushBase, "../@topics/");

    /// <summary>Where a push for a connection id is posted (id appended).</summary>
    public Uri PushBase { get; }

    /// <summary>Whether the server's first frame is <c>{"type":"connected","connectionId":...}</c>.</summary>
    public bool SendsConnectedFrame { get; }

    public int Pid => _process.Id;

    /// <summary>A JWT the gateway accepts (<c>?token=</c>), or null when the target has no authentication.</summary>
    public string? Token { get; private init; }

    /// <summary>The API key of <see cref="Target.GatewayAuth"/>.</summary>
    public const string ManagementKey = "bench-management-api-key-0123456789";

    /// <summary>The API key pushes must carry, or null.</summary>
    public string? ApiKey => Target == Target.GatewayAuth ? ManagementKey : null;

    /// <summary>Extra environment variables for every gateway process (<c>--gateway-env</c>), such as GC settings.</summary>
    public static IReadOnlyDictionary<string, string> GatewayEnvironment { get; set; } = new Dictionary<string, string>();

    public static async Task<ServerUnderTest> StartAsync(Target target, string bareApp, string artifacts)
    {
        if (target is Target.RedisLocal or Target.RedisRemote or Target.RedisFanout or Target.NatsLocal or Target.NatsRemote or Target.NatsFanout or Target.Redis3 or Target.Nats3 or Target.Redis6 or Target.Nats6)
        {
            return await StartPairAsync(target, artifacts);
        }

        var clientPort = FreePort();
        var managementPort = FreePort();
        if (target == Target.NodeWs)
        {
            return await StartNodeAsync(clientPort, managementPort, artifacts);
        }

        var dll = target != Target.Bare
            ? Path.Combine(artifacts, "Gateway.Server", "Gateway.Server.dll")
            : Path.Combine(artifacts, bareApp, bareApp + ".dll");
        Process? backend = null;
        var backendPort = FreePort();
        if (target == Target.GatewayHttp)
        {
            var backendDll = Path.Combine(artifacts, "EchoBackend", "EchoBackend.dll");
            var backendInfo = new ProcessStartInfo("dotnet", [backendDll, "--urls", $"http://127.0.0.1:{backendPort}"]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = ElsewhereFolder };
            backendInfo.Environment["Logging__LogLevel__Default"] = "Warning";
            backend = Process.Start(backendInfo) ?? throw new InvalidOperationException("could not start " + backendDll);
            backend.OutputDataReceived += (_, _) => { };
            backend.ErrorDataReceived += (_, _) => { };
            backend.BeginOutputReadLine();
            backend.BeginErrorReadLine();
        }

        var info = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = ElsewhereFolder };
        if (target == Target.GatewayHttp)
        {
            info.Environment["Gateway__Routes___default__Integration__Type"] = "http";
            info.Environment["Gateway__Routes___default__Integration__Uri"] = $"http://127.0.0.1:{backendPort}/";
            info.Environment["Gateway__Routes___default__Integration__ReturnResponse"] = "true";
        }

        string? token = null;
        if (target is Target.GatewayJwt or Target.GatewayJwtRsa)
        {
            info.Environment["Gateway__Auth__Jwt__SigningKeys__0"] = target == Target.GatewayJwt ? BenchTokens.Secret : BenchTokens.RsaPublicPem;
            info.Environment["Gateway__Auth__Jwt__Issuer"] = BenchTokens.Issuer;
            token = target == Target.GatewayJwt ? BenchTokens.Hs256() : BenchTokens.Rs256();
        }

        if (target == Target.GatewayThreadPool)
        {
            info.Environment["Gateway__Listeners__InlineScheduling"] = "false";
        }

        if (target == Target.GatewayAuth)
        {
            info.Environment["Gateway__Management__ApiKeys__0"] = ManagementKey;
        }

        if (target is Target.GatewayDeflate or Target.LocalFanoutDeflate)
        {
            info.Environment["Gateway__Connections__Compression"] = "On";
        }

        // Clients of the HTTP/2 target connect to its h2c listener; readiness is still probed on the client listener.
        var clientsPort = clientPort;
        if (target == Target.GatewayH2)
        {
            clientsPort = FreePort();
            info.Environment["Gateway__Listeners__ClientHttp2"] = $"http://127.0.0.1:{clientsPort}";
        }

        if (target != Target.Bare)
        {
            info.Environment["Gateway__Listeners__Client"] = $"http://127.0.0.1:{clientPort}";
            info.Environment["Gateway__Listeners__Management"] = $"http://127.0.0.1:{managementPort}";
            info.Environment["Serilog__MinimumLevel__Default"] = "Warning";
            foreach (var (key, value) in GatewayEnvironment)
            {
                info.Environment[key] = value;
            }
        }
        else
        {
            info.ArgumentList.Add("--urls");
            info.ArgumentList.Add($"http://127.0.0.1:{clientPort}");
            info.Environment["Logging__LogLevel__Default"] = "Warning";
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + dll);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[{target}] {e.Data}"); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerUnderTest(process, target, target != Target.Bare || bareApp == "BarePush", clientsPort, managementPort) { _backend = backend, Token = token };
        await server.WaitReadyAsync(clientPort);
        if (backend is not null)
        {
            await server.WaitReadyAsync(backendPort);
        }
        return server;
    }

    /// <summary>The bare Node <c>ws</c> echo, its GC exposed so that the idle benchmark can run a full one (SIGUSR2).</summary>
    private static async Task<ServerUnderTest> StartNodeAsync(int clientPort, int managementPort, string artifacts)
    {
        var script = Path.Combine(artifacts, "..", "NodeEcho", "echo.mjs");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"{script} is missing: bench/run.sh installs bench/NodeEcho");
        }

        var info = new ProcessStartInfo("node", ["--expose-gc", Path.GetFullPath(script), clientPort.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ElsewhereFolder,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start node");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[NodeWs] {e.Data}"); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerUnderTest(process, Target.NodeWs, false, clientPort, managementPort);
        await server.WaitReadyAsync(clientPort);
        return server;
    }

    /// <summary>
    /// An engine (redis-server or nats-server) and two gateway nodes sharing it (three for a fan-out and the users
    /// benchmark, whose nodes also check JWTs); the measured CPU is all these processes'. The two nodes of the push
    /// targets (redislocal, redisremote, natslocal, natsremote) are joined by the direct link too.
    /// </summary>
    private static async Task<ServerUnderTest> StartPairAsync(Target target, string artifacts)
    {
        EngineProcess engine = target is Target.NatsLocal or Target.NatsRemote or Target.NatsFanout or Target.Nats3 or Target.Nats6 ? await NatsEngine.StartAsync() : RedisEngine.Start();
        var withJwt = target is Target.Redis3 or Target.Nats3;

        // A push to another node's connection goes over the direct link between the nodes (the engine carries the rest).
        var withLink = target is Target.RedisLocal or Target.RedisRemote or Target.NatsLocal or Target.NatsRemote;
        var dll = Path.Combine(artifacts, "Gateway.Server", "Gateway.Server.dll");
        (Process Process, int Client, int Management) Node()
        {
            var client = FreePort();
            var management = FreePort();
            var info = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = ElsewhereFolder };
            info.Environment["Gateway__Listeners__Client"] = $"http://127.0.0.1:{client}";
            info.Environment["Gateway__Listeners__Management"] = $"http://127.0.0.1:{management}";
            info.Environment[engine.GatewaySetting.Name] = engine.GatewaySetting.Value;
            info.Environment["Serilog__MinimumLevel__Default"] = "Warning";
            if (withLink)
            {
                info.Environment["Gateway__Cluster__Link__Listen"] = $"127.0.0.1:{FreePort()}";
                info.Environment["Gateway__Cluster__Link__Secret"] = "bench-cluster-link-secret";
            }

            if (withJwt)
            {
                info.Environment["Gateway__Auth__Jwt__SigningKeys__0"] = BenchTokens.Secret;
                info.Environment["Gateway__Auth__Jwt__Issuer"] = BenchTokens.Issuer;
            }

            foreach (var (key, value) in GatewayEnvironment)
            {
                info.Environment[key] = value;
            }

            var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + dll);
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine($"[{target}] {e.Data}"); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return (process, client, management);
        }

        var a = Node();
        var others = Enumerable.Range(0, target switch { Target.Redis6 or Target.Nats6 => 5, Target.RedisFanout or Target.NatsFanout or Target.Redis3 or Target.Nats3 => 2, _ => 1 }).Select(_ => Node()).ToList();
        var server = new ServerUnderTest(a.Process, target, true, a.Client, target is Target.RedisRemote or Target.NatsRemote ? others[0].Management : a.Management)
        {
            _engine = engine,
        };
        server._otherNodes.AddRange(others.Select(o => o.Process));
        server.ClientUris = [server.ClientUri, .. others.Select(o => new Uri($"ws://127.0.0.1:{o.Client}/"))];
        server.ManagementUris = [.. new[] { a }.Concat(others).Select(n => new Uri($"http://127.0.0.1:{n.Management}/"))];
        try
        {
            await server.WaitReadyAsync(a.Client, "readyz");
            foreach (var other in others)
            {
                await server.WaitReadyAsync(other.Client, "readyz");
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>What the shared engine has done so far: Redis commands, or NATS messages; all null without an engine.</summary>
    public async Task<EngineCounters> EngineCountersAsync() => _engine is null ? default : await _engine.CountersAsync();

    private async Task WaitReadyAsync(int port, string probe = "healthz")
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Target} exited with {_process.ExitCode}");
            }

            try
            {
                if ((await http.GetAsync(new Uri($"http://127.0.0.1:{port}/{probe}"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{Target} did not become ready");
    }

    /// <summary>User plus system CPU time the server has used, from /proc/&lt;pid&gt;/stat (with several nodes: all of them, and the engine).</summary>
    public TimeSpan CpuTime() => CpuTime(Pid) + _otherNodes.Aggregate(TimeSpan.Zero, (sum, p) => sum + CpuTime(p.Id)) + (_engine is null ? TimeSpan.Zero : CpuTime(_engine.Process.Id));

    /// <summary>CPU time of each gateway process: the first node (the clients' node), then the others.</summary>
    public TimeSpan[] NodeCpuTimes() => [CpuTime(Pid), .. _otherNodes.Select(p => CpuTime(p.Id))];

    /// <summary>CPU time of the integration backend, or of the engine (redis-server, nats-server) with several nodes (also counted in <see cref="CpuTime()"/>); zero when there is none.</summary>
    public TimeSpan BackendCpuTime() => _backend is not null ? CpuTime(_backend.Id) : _engine is not null ? CpuTime(_engine.Process.Id) : TimeSpan.Zero;

    /// <summary>Every gateway process: the first node, then the others.</summary>
    public int[] NodePids => [Pid, .. _otherNodes.Select(p => p.Id)];

    /// <summary>The engine's process (redis-server, nats-server), or null without one.</summary>
    public int? EnginePid => _engine?.Process.Id;

    /// <summary>The system (kernel) part of <see cref="CpuTime(int)"/>: socket calls, and on loopback the receiving side's TCP work too.</summary>
    public static TimeSpan SystemCpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return TimeSpan.FromSeconds(long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[12], CultureInfo.InvariantCulture) / (double)ClockTicksPerSecond);
    }

    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    /// <summary>Resident memory, from /proc/&lt;pid&gt;/status.</summary>
    public long RssBytes() => RssBytes(Pid);

    /// <summary>Resident memory of any process, from /proc/&lt;pid&gt;/status.</summary>
    public static long RssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS");
    }

    /// <summary>Makes the server run a full, blocking GC, the way heap-snapshot tools do, through the diagnostics port.</summary>
    public async Task ForceGcAsync()
    {
        if (Target == Target.NodeWs)
        {
            using var kill = Process.Start("kill", ["-USR2", Pid.ToString(CultureInfo.InvariantCulture)]) ?? throw new InvalidOperationException("could not run kill");
            await kill.WaitForExitAsync();
            await Task.Delay(1000);
            return;
        }

        await ForceGcAsync(Pid);
    }

    /// <summary>A full, blocking GC in the .NET process <paramref name="pid"/>, through its diagnostics port.</summary>
    public static async Task ForceGcAsync(int pid)
    {
        const long GcHeapCollect = 0x800000;
        var client = new DiagnosticsClient(pid);
        using var session = client.StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcHeapCollect)],
            requestRundown: false,
            circularBufferMB: 16);
        var drain = session.EventStream.CopyToAsync(Stream.Null);
        await Task.Delay(1500);
        await session.StopAsync(CancellationToken.None);
        await drain;
        await Task.Delay(500);
    }

    /// <summary>
    /// The runtime's own counters of a gateway process, from its /metrics (meter System.Runtime): lock contentions so
    /// far, thread-pool threads, and work items queued. Null for the bare apps.
    /// </summary>
    public async Task<(double LockContentions, double Threads, double Queued)?> RuntimeAsync()
    {
        if (Target is Target.Bare or Target.NodeWs)
        {
            return null;
        }

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(PushBase, "../metrics"));
        double Read(string name)
        {
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith(name + "{", StringComparison.Ordinal))
                {
                    return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                }
            }

            return double.NaN;
        }

        return (Read("dotnet_monitor_lock_contentions_total"), Read("dotnet_thread_pool_thread_count_total"), Read("dotnet_thread_pool_queue_length_total"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var extra in _otherNodes)
        {
            if (!extra.HasExited)
            {
                extra.Kill(entireProcessTree: true);
                await extra.WaitForExitAsync();
            }

            extra.Dispose();
        }

        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }

        if (_backend is { HasExited: false })
        {
            _backend.Kill(entireProcessTree: true);
            await _backend.WaitForExitAsync();
        }

        _backend?.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private const int ClockTicksPerSecond = 100; // USER_HZ on Linux

    // Below the ephemeral range (32768–60999 here), which the load client's own connections and their TIME_WAIT
    // leftovers draw from: a port taken from it could be in use again by the time the server binds it.
    public static int FreePort()
    {
        while (true)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }
    }
}
