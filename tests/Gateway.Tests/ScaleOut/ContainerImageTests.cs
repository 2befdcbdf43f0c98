using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// There is no container engine here, so the image is checked piece by piece: the Dockerfile's own publish step is
/// run, and its output is started the way the image's entrypoint does, as an unprivileged user, with the
/// Dockerfile's and the compose file's environment (hosts swapped for loopback ones), once for each of the compose
/// file's two variants: the replicas on Redis (<c>gateway</c>) and on NATS (<c>gateway-nats</c>).
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed partial class ContainerImageTests(ITestOutputHelper output)
{
    private const int Nobody = 65534;

    [Theory]
    [InlineData("gateway")]
    [InlineData("gateway-nats")]
    public async Task The_published_server_runs_as_a_non_root_user_with_the_compose_environment(string service)
    {
        var dockerfile = await File.ReadAllTextAsync(Repository.PathOf("docker", "Dockerfile"));
        var compose = await File.ReadAllTextAsync(Repository.PathOf("docker", "docker-compose.yml"));

        // RUN dotnet publish src/Gateway.Server -c Release -a $TARGETARCH … -o /app --nologo  →  the same for this machine, into a temporary /app (once per run).
        var app = new DirectoryInfo(await PublishedServer.FolderAsync());
        Assert.True(File.Exists(Path.Combine(app.FullName, "Gateway.Server.dll")));
        var onNats = service == "gateway-nats";
        await using var redis = onNats ? null : await RedisServer.StartAsync();
        await using var nats = onNats ? await NatsServer.StartAsync() : null;
        await using var backend = await IntegrationBackend.StartAsync();
        var environment = DockerfileEnvironment(dockerfile);
        var composed = ComposeEnvironment(compose, service);
        Assert.Equal(onNats ? "nats://nats:4222" : null, composed.GetValueOrDefault("Gateway__Nats__Url"));
        Assert.Equal(onNats ? null : "redis:6379", composed.GetValueOrDefault("Gateway__Redis__Configuration"));
        foreach (var (key, value) in composed)
        {
            environment[key] = value
                .Replace("redis:6379", redis?.Configuration ?? "", StringComparison.Ordinal)
                .Replace("nats://nats:4222", nats?.Url ?? "", StringComparison.Ordinal)
                .Replace("http://chat:3000/", backend.Url("/").ToString(), StringComparison.Ordinal);
        }

        var clientPort = NodeProcess.FreePort();
        var managementPort = NodeProcess.FreePort();

        // The replicas' link listens on every address at 8082; here on loopback, at a free port.
        Assert.Equal("0.0.0.0:8082", environment["Gateway__Cluster__Link__Listen"]);
        environment["Gateway__Cluster__Link__Listen"] = $"127.0.0.1:{NodeProcess.FreePort()}";
        environment["Gateway__Listeners__Client"] = $"http://127.0.0.1:{clientPort}";
        environment["Gateway__Listeners__Management"] = $"http://127.0.0.1:{managementPort}";
        environment["HOME"] = app.FullName;

        // ENTRYPOINT ["dotnet", "Gateway.Server.dll"], as the image's unprivileged user.
        using var server = Start(["dotnet", "Gateway.Server.dll"], app.FullName, environment);
        var lines = new List<string>();
        server.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            // The image's HEALTHCHECK command, as the same user, on /readyz: ready means the engine is connected too.
            await Wait.UntilAsync(async () => await RunAsync("setpriv", Unprivileged(["dotnet", "Gateway.Server.dll", "healthcheck", $"http://127.0.0.1:{clientPort}/readyz"]), app.FullName, environment, quiet: true) == 0,
                "the image's health check passes", TimeSpan.FromSeconds(30));
            Assert.Equal($"{Nobody}", UidOf(server.Id));

            await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{clientPort}/"));
            await client.SendTextAsync("""{"action":"sendmessage","data":"hi"}""");
            await backend.WaitForAsync(r => r.Path == "/sendmessage");
            Assert.Contains(backend.Requests, r => r.Path == "/connect");

            // Compact JSON logs, as the Dockerfile asks for containers.
            lock (lines)
            {
                Assert.Contains(lines, l => l.StartsWith("{\"@t\":", StringComparison.Ordinal));
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static string[] Unprivileged(string[] command) =>
        [$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "--", .. command];

    private static Process Start(string[] command, string directory, IDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("setpriv", Unprivileged(command)) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("the server did not start");
    }

    private async Task<int> RunAsync(string file, string[] arguments, string directory, IDictionary<string, string>? environment = null, bool quiet = false)
    {
        var info = new ProcessStartInfo(file, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WithTimeout(TimeSpan.FromMinutes(5));
        if (!quiet || process.ExitCode != 0)
        {
            output.WriteLine($"{file} {string.Join(' ', arguments)} → {process.ExitCode}\n{await stdout}\n{await stderr}");
        }

        return process.ExitCode;
    }

    private static string UidOf(int pid) =>
        File.ReadAllLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];

    /// <summary>The <c>ENV</c> of the Dockerfile's last stage (<c>KEY=value</c> pairs, continued lines joined).</summary>
    private static Dictionary<string, string> DockerfileEnvironment(string dockerfile)
    {
        var runtime = dockerfile[dockerfile.LastIndexOf("FROM ", StringComparison.Ordinal)..].Replace("\\\n", " ", StringComparison.Ordinal);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in runtime.Split('\n').Where(l => l.StartsWith("ENV ", StringComparison.Ordinal)))
        {
            foreach (var pair in line[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var at = pair.IndexOf('=', StringComparison.Ordinal);
                environment[pair[..at]] = pair[(at + 1)..];
            }
        }

        return environment;
    }

    /// <summary>The <c>environment</c> of one compose service, with <c>${VAR:-default}</c> and <c>${VAR:?…}</c> filled in (a required one with 40 characters, long enough for a key).</summary>
    private static Dictionary<string, string> ComposeEnvironment(string compose, string service)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = compose.Split('\n');
        var inService = false;
        var inEnvironment = false;
        foreach (var line in lines)
        {
            if (line.Length > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ')
            {
                inService = line.Trim() == service + ":";
                inEnvironment = false;
                continue;
            }

            if (inService && line.Trim() == "environment:")
            {
                inEnvironment = true;
                continue;
            }

            if (inService && inEnvironment && line.StartsWith("      ", StringComparison.Ordinal) && line.Contains(':', StringComparison.Ordinal))
            {
                var at = line.IndexOf(':', StringComparison.Ordinal);
                var value = line[(at + 1)..].Trim().Trim('"');
                environment[line[..at].Trim()] = Variable().Replace(value, m => m.Groups[2].Value == "-" ? m.Groups[3].Value : ("test-" + m.Groups[1].Value.ToLowerInvariant()).PadRight(40, '0'));
            }
            else if (inEnvironment && !line.StartsWith("      ", StringComparison.Ordinal))
            {
                inEnvironment = false;
            }
        }

        Assert.NotEmpty(environment);
        return environment;
    }

    [GeneratedRegex(@"\$\{([A-Z_]+):([-?])([^}]*)\}")]
    private static partial Regex Variable();
}
