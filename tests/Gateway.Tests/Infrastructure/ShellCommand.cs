using System.Collections.Concurrent;
using System.Diagnostics;

namespace Gateway.Tests.Infrastructure;

/// <summary>A command line run by <c>bash -c</c>, exactly as a user types it, in a given folder; its output kept line by line.</summary>
public sealed class ShellCommand : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _standardOutput = new();

    private ShellCommand(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _standardOutput.Enqueue(e.Data);
                _lines.Enqueue(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _lines.Enqueue(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string CommandLine { get; private init; } = "";

    /// <summary>Every line, standard output and standard error together, in the order they arrived.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>The lines of standard output alone.</summary>
    public IReadOnlyCollection<string> StandardOutput => _standardOutput;

    public string Output => string.Join('\n', _lines);

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="commandLine"/> in <paramref name="directory"/>.</summary>
    public static ShellCommand Start(string commandLine, string directory, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("bash", ["-c", commandLine])
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // The shell's own idea of where it is, as in a terminal.
        info.Environment["PWD"] = directory;
        info.Environment.Remove("DOTNET_RUNNING_IN_CONTAINER");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return new ShellCommand(Process.Start(info)!) { CommandLine = commandLine };
    }

    /// <summary>Types a line into the command's standard input.</summary>
    public async Task TypeAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for an output line that <paramref name="match"/> accepts, and returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null)
    {
        string? found = null;
        await Wait.UntilAsync(() => (found = _lines.FirstOrDefault(match)) is not null || _process.HasExited, what, timeout ?? TimeSpan.FromSeconds(120));
        return found ?? throw new Xunit.Sdk.XunitException($"`{CommandLine}` ended before {what}:\n{Output}");
    }

    /// <summary>Waits for the command to end by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await _process.WaitForExitAsync().WithTimeout(timeout ?? TimeSpan.FromSeconds(120));
        return _process.ExitCode;
    }

    /// <summary>Ends the command and every process it started.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
