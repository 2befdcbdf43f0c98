using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>One three-shard Redis Cluster for every test of a class; each test keeps to its own key prefix.</summary>
public sealed class SharedRedisCluster : IAsyncLifetime
{
    public RedisCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await RedisCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
