using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>One nats-server (with JetStream) for every test of a class; each test keeps to its own subjects and streams.</summary>
public sealed class SharedNatsServer : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await NatsServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
