using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Nats;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NATS.Client.Core;

namespace Gateway.Tests.Backplane;

/// <summary>The backplane spec on <see cref="NatsBackplaneTransport"/> and one real nats-server (JetStream on) on loopback.</summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsBackplaneSpecTests(SharedNatsServer nats) : BackplaneMessagingSpec, IClassFixture<SharedNatsServer>
{
    internal static Dictionary<string, string?> Timing(string url, string prefix) => new()
    {
        ["Gateway:Nats:Url"] = url,
        ["Gateway:Nats:SubjectPrefix"] = prefix,
        ["Gateway:Nats:HeartbeatInterval"] = "00:00:00.3",
        ["Gateway:Nats:NodeTtl"] = "00:00:03",
        ["Gateway:Nats:RequestTimeout"] = "00:00:01",
        ["Gateway:Nats:EventSubjects:0"] = "bus.>",
        ["Gateway:Nats:EventSubjects:1"] = "events.>",
    };

    internal static NatsBackplaneTransport Transport(string url, string prefix, int replicas = 1) =>
        new(
            Options.Create(new NatsOptions
            {
                Url = url,
                SubjectPrefix = prefix,
                NodeTtl = TimeSpan.FromSeconds(3),
                RequestTimeout = TimeSpan.FromSeconds(1),
                JetStream = new NatsJetStreamOptions { Replicas = replicas },
            }),
            Options.Create(new GatewayOptions()),
            TimeProvider.System,
            NullLogger<NatsBackplaneTransport>.Instance);

    protected override Task<GatewayHost> StartHostAsync(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in Timing(nats.Server.Url, Prefix))
        {
            settings[key] = value;
        }

        return GatewayHost.StartAsync(settings, realClock: true);
    }

    /// <summary>
    /// Removes the history streams earlier tests made: every test keeps history for <c>events.&gt;</c>, and JetStream
    /// refuses a stream whose subjects overlap another's.
    /// </summary>
    public override Task InitializeAsync() => DeleteHistoryStreamsAsync(nats.Server.Url);

    /// <summary>Deletes every gateway history stream on the NATS at <paramref name="url"/>.</summary>
    internal static async Task DeleteHistoryStreamsAsync(string url)
    {
        await using var client = new NatsConnection(new NatsOpts { Url = url });
        var js = new NATS.Client.JetStream.NatsJSContext(client);
        await foreach (var name in js.ListStreamNamesAsync())
        {
            if (name.Contains("_history_", StringComparison.Ordinal))
            {
                await js.DeleteStreamAsync(name);
            }
        }
    }

    protected override IBackplaneTransport CreateTransport() => Transport(nats.Server.Url, Prefix);

    protected override Task PublishRawToEventBusAsync(string topic, string body) => PublishAsync(nats.Server.Url, topic, System.Text.Encoding.UTF8.GetBytes(body), null);

    // On NATS the body is the data, and the type is a header.
    protected override Task PublishToEventBusAsync(string topic, string type, string data) => PublishTypedAsync(nats.Server.Url, topic, type, data);

    protected override Task PublishBadEventsToEventBusAsync(string topic) => PublishBadEventsAsync(nats.Server.Url, topic);

    /// <summary>Publishes an event of <paramref name="type"/> (a header) with <paramref name="data"/> as its body, as a service would.</summary>
    internal static Task PublishTypedAsync(string url, string topic, string type, string data) =>
        PublishAsync(url, topic, System.Text.Encoding.UTF8.GetBytes(data), new NatsHeaders { ["Gateway-Type"] = type });

    /// <summary>Publishes what the gateway must refuse: no type anywhere; an empty type header; a type given twice.</summary>
    internal static async Task PublishBadEventsAsync(string url, string topic)
    {
        await PublishAsync(url, topic, "not json"u8.ToArray(), null);
        await PublishAsync(url, topic, """{"data":1}"""u8.ToArray(), new NatsHeaders { ["Gateway-Type"] = "" });
        await PublishAsync(url, topic, "1"u8.ToArray(), new NatsHeaders { ["Gateway-Type"] = new Microsoft.Extensions.Primitives.StringValues(["a", "b"]) });
    }

    [Fact]
    public async Task An_exclusion_header_on_a_services_event_is_not_read()
    {
        var settings = new Dictionary<string, string?> { ["Gateway:Topics:Authorization:AllowAll"] = "true" };
        await using var host = await StartHostAsync(settings);
        await Wait.UntilAsync(() => host.Services.GetRequiredService<ClusterBackplane>().IsConnected, "the node announced itself", TimeSpan.FromSeconds(20));
        await using var client = await host.ConnectAsync();
        await Management.ManagementCalls.SubscribeAsync("bus.service", client);

        // Without the node header a gateway's own publish carries, the exclusion is a service's and is ignored.
        await PublishAsync(nats.Server.Url, "bus.service", "1"u8.ToArray(), new NatsHeaders { ["Gateway-Type"] = "t", [NatsBackplaneTransport.ExcludeHeader] = client.Id });
        Assert.Equal("""{"type":"t","channel":"bus.service","data":1}""", await client.ReceiveTextAsync());
    }

    /// <summary>Publishes on a subject of the NATS at <paramref name="url"/>, and waits until the server has it.</summary>
    internal static async Task PublishAsync(string url, string subject, byte[] body, NatsHeaders? headers)
    {
        await using var client = new NatsConnection(new NatsOpts { Url = url });
        await client.PublishAsync(subject, body, headers: headers);
        await client.PingAsync();
    }
}
