namespace Gateway.LoadTest;

/// <summary>One measured run against one server.</summary>
public sealed record RunResult(
    Target Target,
    int Round,
    int Connections,
    double Seconds,
    long Operations,
    TimeSpan ServerCpu,
    TimeSpan ClientCpu,
    Latency Latency,
    long Lost = 0,
    double BytesPerConnection = double.NaN,
    TimeSpan BackendCpu = default,
    double RedisCommandsPerOperation = double.NaN,
    double NatsMessagesInPerOperation = double.NaN,
    double NatsMessagesOutPerOperation = double.NaN)
{
    public double PerSecond => Operations / Seconds;

    /// <summary>CPU of each gateway process over the window (the clients' node first), when there are several.</summary>
    public TimeSpan[] NodeCpu { get; init; } = [];

    /// <summary>What the row is called when the target alone does not say (the batch mode's two forms).</summary>
    public string? Label { get; init; }

    /// <summary>
    /// The wall time of the whole window when <see cref="Seconds"/> is only this row's share of it (the users mode's
    /// interleaved calls, whose CPU is the window's); NaN otherwise.
    /// </summary>
    public double WindowSeconds { get; init; } = double.NaN;

    /// <summary>Bytes the clients read from their sockets over the window per operation (frame heads included), or NaN.</summary>
    public double WireBytesReadPerOperation { get; init; } = double.NaN;

    /// <summary>Bytes the clients wrote to their sockets over the window per operation (frame heads and masks included), or NaN.</summary>
    public double WireBytesWrittenPerOperation { get; init; } = double.NaN;

    /// <summary>JWTs presented over the whole run (handshake mode; each handshake takes the next one of a pre-signed pool).</summary>
    public long TokensPresented { get; init; }

    /// <summary>Of those, how many were a token presented before (the pool ran out); 0 when every one was distinct.</summary>
    public long TokensRepeated { get; init; }

    /// <summary>The gateway's runtime counters over the window (lock contention, thread pool), when read.</summary>
    public string? Runtime { get; init; }

    /// <summary>Operations per second of server CPU: the efficiency figure, independent of how busy the machine was.</summary>
    public double PerServerCpuSecond => Operations / ServerCpu.TotalSeconds;

    public double ServerCpuMicrosPerOperation => ServerCpu.TotalMilliseconds * 1000 / Operations;

    public double BackendCpuMicrosPerOperation => BackendCpu.TotalMilliseconds * 1000 / Operations;

    public double ServerCpuPercent => ServerCpu.TotalSeconds / Seconds * 100;

    public double ClientCpuPercent => ClientCpu.TotalSeconds / Seconds * 100;
}
