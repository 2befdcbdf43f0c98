using Gateway.Backplane;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Backplane;

/// <summary>
/// The backplane spec on Redis with the direct link between nodes on (<c>Gateway:Cluster:Link</c>): directed calls and
/// their answers ride on the link once it is up, everything else on Redis; the protocol holds either way.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class LinkedRedisBackplaneSpecTests(SharedRedisServer redis) : BackplaneMessagingSpec, IClassFixture<SharedRedisServer>
{
    protected override Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in RedisBackplaneSpecTests.Timing(redis.Server.Configuration, Prefix))
        {
            settings[key] = value;
        }

        settings["Gateway:Cluster:Link:Listen"] = "127.0.0.1:0";
        settings["Gateway:Cluster:Link:Secret"] = "the-spec-cluster-secret";
        return GatewayHost.StartAsync(settings, realClock: true);
    }

    protected override IBackplaneTransport CreateTransport() => RedisBackplaneSpecTests.Transport(redis.Server.Configuration, Prefix);

    protected override Task PublishRawToEventBusAsync(string topic, string body) => redis.Server.CommandAsync("PUBLISH", $"{Prefix}:events:{topic}", body);
}
