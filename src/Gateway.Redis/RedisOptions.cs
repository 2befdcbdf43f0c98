namespace Gateway.Redis;

/// <summary>The <c>Gateway:Redis</c> section: the Redis every node of one gateway shares.</summary>
public sealed class RedisOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Gateway:Redis";

    /// <summary>A StackExchange.Redis configuration string (<c>redis:6379</c>, <c>host:6379,password=…,ssl=true</c>); unset, one node runs alone.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key and channel, so several gateways can share one Redis.</summary>
    public string ChannelPrefix { get; set; } = "gw";

    /// <summary>
    /// Use sharded pub/sub (<c>SPUBLISH</c>/<c>SSUBSCRIBE</c>, Redis 7 and later) for node, broadcast and history
    /// channels: on a cluster, a message then goes to the one shard that owns its channel instead of to every shard,
    /// and the count of receivers is exact. Set false for Redis 6.
    /// </summary>
    public bool ShardedPubSub { get; set; } = true;

    /// <summary>How often a node renews its heartbeat key.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a heartbeat key lives: a node silent this long is taken as gone (its connections answer 410).</summary>
    public TimeSpan NodeTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a node waits for another node's answer to a directed operation before answering 503.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
