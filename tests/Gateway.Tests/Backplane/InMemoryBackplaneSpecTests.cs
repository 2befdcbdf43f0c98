using Gateway.Backplane;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>The backplane spec on <see cref="InMemoryBackplaneTransport"/>: N nodes in this process, no server.</summary>
public sealed class InMemoryBackplaneSpecTests : BackplaneMessagingSpec
{
    private readonly InMemoryBackplaneNetwork _network = new();

    protected override Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings) => StartNodeAsync(_network, settings);

    /// <summary>Starts a node on <paramref name="network"/> with a heartbeat of 0.3 s, a liveness of 3 s and a request timeout of 1 s.</summary>
    internal static Task<GatewayHost> StartNodeAsync(InMemoryBackplaneNetwork network, Dictionary<string, string?> settings) =>
        GatewayHost.StartAsync(settings, gateway =>
        {
            gateway.Services.AddSingleton(_ => network.Connect());
            gateway.Services.AddClusterBackplane(
                sp => sp.GetRequiredService<InMemoryBackplaneTransport>(),
                _ => new ClusterBackplaneOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(300), NodeTtl = TimeSpan.FromSeconds(3), RequestTimeout = TimeSpan.FromSeconds(1) });
        }, realClock: true);

    protected override IBackplaneTransport CreateTransport() => _network.Connect();

    protected override Task PublishRawToEventBusAsync(string topic, string body)
    {
        _network.PublishBusEvent(topic, System.Text.Encoding.UTF8.GetBytes(body));
        return Task.CompletedTask;
    }
}
