namespace Gateway.Backplane;

/// <summary>The timing of <see cref="ClusterBackplane"/>; an adapter fills it from its own options section.</summary>
public sealed class ClusterBackplaneOptions
{
    /// <summary>How often a node renews its liveness record.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a liveness record lives: a node silent this long is taken as gone (its connections answer 410).</summary>
    public TimeSpan NodeTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a node waits for another node's answer to a directed operation before answering 503 (negative: without limit).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
