using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.Infrastructure;

/// <summary>Node programs the tests start: a test run of Node's own runner, or a long-running server.</summary>
public static class NodeProcess
{
    /// <summary>A loopback port free at the time of asking.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs <c>node --test</c> (TAP output) in <paramref name="directory"/>; returns the exit code and the whole report.</summary>
    public static async Task<(int ExitCode, string Report)> RunTestsAsync(string directory, IDictionary<string, string> environment, params string[] files)
    {
        var info = new ProcessStartInfo("node", ["--test", "--test-reporter=tap", .. files])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE"] = "1";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WithTimeout(TimeSpan.FromMinutes(2));
        return (node.ExitCode, await stdout + await stderr);
    }

    /// <summary>Starts a Node server and waits for its first line, which must start with <paramref name="readyLine"/>.</summary>
    public static async Task<Process> StartServerAsync(string directory, string script, IDictionary<string, string> environment, string readyLine)
    {
        var info = new ProcessStartInfo("node", [script]) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE"] = "1";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info)!;
        var first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (first is null || !first.StartsWith(readyLine, StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"{script} did not start: {first} {await process.StandardError.ReadToEndAsync()}");
        }

        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Stops a server started by <see cref="StartServerAsync"/>.</summary>
    public static async Task StopAsync(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
