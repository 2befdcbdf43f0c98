using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>One redis-server for every test of a class; each test keeps to its own key prefix.</summary>
public sealed class SharedRedisServer : IAsyncLifetime
{
    public RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
