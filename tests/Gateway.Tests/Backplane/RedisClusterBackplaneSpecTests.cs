using Gateway.Backplane;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>The backplane spec on a three-shard Redis Cluster (sharded pub/sub, keys spread over slots).</summary>
[Collection(SerialProcesses.Name)]
public sealed class RedisClusterBackplaneSpecTests(SharedRedisCluster cluster) : BackplaneMessagingSpec, IClassFixture<SharedRedisCluster>
{
    protected override Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in RedisBackplaneSpecTests.Timing(cluster.Cluster.Configuration, Prefix))
        {
            settings[key] = value;
        }

        return GatewayHost.StartAsync(settings, realClock: true);
    }

    protected override IBackplaneTransport CreateTransport() => RedisBackplaneSpecTests.Transport(cluster.Cluster.Configuration, Prefix);

    protected override Task PublishRawToEventBusAsync(string topic, string body) =>
        RedisCluster.CliAsync(["-c", "-p", cluster.Cluster.Ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture), "PUBLISH", $"{Prefix}:events:{topic}", body]);
}
