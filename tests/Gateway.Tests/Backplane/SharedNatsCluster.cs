using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>
/// One three-server NATS cluster (clustered JetStream) for every test of a class; each test keeps to its own subjects
/// and streams, and starts again the servers it kills.
/// </summary>
public sealed class SharedNatsCluster : IAsyncLifetime
{
    public NatsCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await NatsCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
