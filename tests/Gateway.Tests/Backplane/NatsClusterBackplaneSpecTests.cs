using Gateway.Backplane;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>
/// The backplane spec on a three-server NATS cluster (clustered JetStream): every node is given all three servers,
/// and the history streams and key-value buckets keep three replicas. The calls that ride only on messages are the same
/// as on one server (<see cref="NatsBackplaneSpecTests"/>) and are not run again.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsClusterBackplaneSpecTests(SharedNatsCluster nats) : BackplaneSpec, IClassFixture<SharedNatsCluster>
{
    private const int Replicas = 3;

    private string Urls => nats.Cluster.Urls;

    protected override Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in NatsBackplaneSpecTests.Timing(Urls, Prefix))
        {
            settings[key] = value;
        }

        settings["Gateway:Nats:JetStream:Replicas"] = Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return GatewayHost.StartAsync(settings, realClock: true);
    }

    /// <summary>Removes the history streams earlier tests made, as on one server: their subjects would overlap.</summary>
    public override Task InitializeAsync() => NatsBackplaneSpecTests.DeleteHistoryStreamsAsync(Urls);

    protected override IBackplaneTransport CreateTransport() => NatsBackplaneSpecTests.Transport(Urls, Prefix, Replicas);

    protected override Task PublishRawToEventBusAsync(string topic, string body) =>
        NatsBackplaneSpecTests.PublishAsync(Urls, topic, System.Text.Encoding.UTF8.GetBytes(body), null);

    protected override Task PublishToEventBusAsync(string topic, string type, string data) => NatsBackplaneSpecTests.PublishTypedAsync(Urls, topic, type, data);

    protected override Task PublishBadEventsToEventBusAsync(string topic) => NatsBackplaneSpecTests.PublishBadEventsAsync(Urls, topic);
}
