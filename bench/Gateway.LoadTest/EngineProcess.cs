using System.Collections.Concurrent;
using System.Diagnostics;

namespace Gateway.LoadTest;

/// <summary>
/// The engine the gateway nodes of one run share (redis-server or nats-server), started on a free loopback port for
/// that run and stopped after it. Its CPU is counted with the gateway processes' (the backend CPU).
/// </summary>
public abstract class EngineProcess : IAsyncDisposable
{
    private const int KeptLines = 20;

    private readonly ConcurrentQueue<string> _output = new();

    protected EngineProcess(string fileName, IEnumerable<string> arguments)
    {
        Process = System.Diagnostics.Process.Start(new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("could not start " + fileName);
        Process.OutputDataReceived += (_, e) => Keep(e.Data);
        Process.ErrorDataReceived += (_, e) => Keep(e.Data);
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    /// <summary>The setting that points a gateway node at this engine, as an environment variable.</summary>
    public abstract (string Name, string Value) GatewaySetting { get; }

    /// <summary>The last lines the engine printed, for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>What the engine has done so far.</summary>
    public abstract Task<EngineCounters> CountersAsync();

    public async ValueTask DisposeAsync()
    {
        await DisposeCoreAsync();
        GC.SuppressFinalize(this);
    }

    protected virtual async ValueTask DisposeCoreAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
        }

        Process.Dispose();
    }

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

/// <summary>
/// What the shared engine has done so far: commands Redis has run (all kinds but INFO), or messages into and out of
/// nats-server (<c>/varz</c> <c>in_msgs</c>, <c>out_msgs</c>). Null where the engine is another one, or there is none.
/// </summary>
public readonly record struct EngineCounters(long? RedisCommands, long? NatsMessagesIn, long? NatsMessagesOut)
{
    /// <summary>What was done between <paramref name="before"/> and these counters.</summary>
    public EngineCounters Since(EngineCounters before) =>
        new(RedisCommands - before.RedisCommands, NatsMessagesIn - before.NatsMessagesIn, NatsMessagesOut - before.NatsMessagesOut);

    /// <summary>A count per operation, or NaN where there is no count.</summary>
    public static double PerOperation(long? count, long operations) => count is { } c ? c / (double)Math.Max(1, operations) : double.NaN;
}
