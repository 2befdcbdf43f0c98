using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Gateway.Tests.Infrastructure;

/// <summary>The gateway executable started as its own process, configured by environment variables only.</summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private ServerProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _lines.Enqueue(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _lines.Enqueue(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>
    /// Starts the server: by default the one built beside the tests, in its own folder; or <paramref name="serverFolder"/>'s
    /// (a published copy) started from <paramref name="workingDirectory"/>, with <paramref name="arguments"/>, and as
    /// <paramref name="user"/> (a uid, through setpriv) when given.
    /// </summary>
    public static ServerProcess Start(IDictionary<string, string> environment, string[]? arguments = null, string? serverFolder = null, string? workingDirectory = null, int? user = null)
    {
        var dll = Path.Combine(serverFolder ?? AppContext.BaseDirectory, "Gateway.Server.dll");
        string[] command = ["dotnet", dll, .. arguments ?? []];
        if (user is { } uid)
        {
            var id = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
            command = ["setpriv", $"--reuid={id}", $"--regid={id}", "--clear-groups", "--", .. command];
        }

        var info = new ProcessStartInfo(command[0], command[1..])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? serverFolder ?? AppContext.BaseDirectory,
        };
        // The log format follows this unless a test sets it: a test run inside a container must not change it.
        info.Environment.Remove("DOTNET_RUNNING_IN_CONTAINER");
        info.Environment["Gateway__Listeners__Client"] = "http://127.0.0.1:0";
        info.Environment["Gateway__Listeners__Management"] = "http://127.0.0.1:0";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return new ServerProcess(Process.Start(info)!);
    }

    /// <summary>Waits for the startup line that tells where clients connect, and returns that URL.</summary>
    public async Task<(Uri Client, Uri Management)> WaitForListenersAsync()
    {
        Uri? client = null, management = null;
        await Wait.UntilAsync(
            () =>
            {
                foreach (var line in _lines)
                {
                    if (!line.StartsWith('{') && ClientLine().Match(line) is { Success: true } c)
                    {
                        client = new Uri(c.Groups[1].Value);
                    }

                    if (!line.StartsWith('{') && ManagementLine().Match(line) is { Success: true } m)
                    {
                        management = new Uri(m.Groups[1].Value);
                    }

                    // Compact JSON: the message template and its properties.
                    if (line.StartsWith('{') && line.Contains("\"Address\"", StringComparison.Ordinal))
                    {
                        using var json = System.Text.Json.JsonDocument.Parse(line);
                        var template = json.RootElement.GetProperty("@mt").GetString()!;
                        var address = json.RootElement.GetProperty("Address").GetString();
                        if (template.StartsWith("Clients connect at", StringComparison.Ordinal))
                        {
                            client = new Uri($"ws://{address}/");
                        }
                        else if (template.StartsWith("Management API at", StringComparison.Ordinal))
                        {
                            management = new Uri($"http://{address}/");
                        }
                    }
                }

                return client is not null && management is not null || _process.HasExited;
            },
            "the server logged its listeners",
            TimeSpan.FromSeconds(30));
        Assert.False(_process.HasExited, string.Join('\n', _lines));
        return (client!, management!);
    }

    /// <summary>Waits for the process to exit by itself.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM, as a container runtime sends it: the host drains and exits.
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    /// <summary>SIGHUP, as an operator sends it to have the configuration read again.</summary>
    public async Task HangUpAsync()
    {
        using var kill = Process.Start("kill", ["-HUP", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync().WithTimeout();
    }

    /// <summary>SIGKILL: the process dies at once, as with <c>kill -9</c>.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Clients connect at (ws://[^/\s""]+/)")]
    private static partial Regex ClientLine();

    [GeneratedRegex(@"Management API at (http://[^/\s""]+/)")]
    private static partial Regex ManagementLine();
}
