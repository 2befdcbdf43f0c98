using Gateway.Backplane;
using Gateway.Redis;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Backplane;

/// <summary>The backplane spec on <see cref="RedisBackplaneTransport"/> and one real redis-server on loopback.</summary>
[Collection(SerialProcesses.Name)]
public sealed class RedisBackplaneSpecTests(SharedRedisServer redis) : BackplaneMessagingSpec, IClassFixture<SharedRedisServer>
{
    internal static Dictionary<string, string?> Timing(string configuration, string prefix) => new()
    {
        ["Gateway:Redis:Configuration"] = configuration,
        ["Gateway:Redis:ChannelPrefix"] = prefix,
        ["Gateway:Redis:HeartbeatInterval"] = "00:00:00.3",
        ["Gateway:Redis:NodeTtl"] = "00:00:03",
        ["Gateway:Redis:RequestTimeout"] = "00:00:01",
    };

    internal static RedisBackplaneTransport Transport(string configuration, string prefix) =>
        new(Options.Create(new RedisOptions { Configuration = configuration, ChannelPrefix = prefix }), NullLogger<RedisBackplaneTransport>.Instance);

    protected override Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in Timing(redis.Server.Configuration, Prefix))
        {
            settings[key] = value;
        }

        return GatewayHost.StartAsync(settings, realClock: true);
    }

    protected override IBackplaneTransport CreateTransport() => Transport(redis.Server.Configuration, Prefix);

    protected override Task PublishRawToEventBusAsync(string topic, string body) => redis.Server.CommandAsync("PUBLISH", $"{Prefix}:events:{topic}", body);
}
