using System.Text;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Topics;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// NATS as the event bus of the topic platform: services publish on subjects with any NATS client (NATS.Net here),
/// WebSocket clients on any node receive them as topic events, and what the gateway publishes goes onto the bus too.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsEventBusTests
{
    private const string Subject = "events.org_123.conversations.conversation.message_posted.conv_456";

    private static async Task<GatewayHost> NodeAsync(NatsServer nats, params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Nats:Url"] = nats.Url,
            ["Gateway:Nats:HeartbeatInterval"] = "00:00:00.3",
            ["Gateway:Nats:NodeTtl"] = "00:00:03",
            ["Gateway:Nats:RequestTimeout"] = "00:00:01",
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var host = await GatewayHost.StartAsync(settings, realClock: true);
        await Wait.UntilAsync(() => host.Services.GetRequiredService<Gateway.Backplane.ClusterBackplane>().IsConnected, "the node announced itself on NATS");
        return host;
    }

    private static async Task<TestClient> SubscribedAsync(GatewayHost host, string channel, string? since = null)
    {
        var client = await host.ConnectAsync();
        await client.SendTextAsync(since is null
            ? $$"""{"action":"subscribe","channel":"{{channel}}"}"""
            : $$"""{"action":"subscribe","channel":"{{channel}}","since":{{since}}}""");
        Assert.Equal("subscribed", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString());
        return client;
    }

    private static async Task PublishAsync(NatsServer nats, string subject, byte[] body, string? type)
    {
        await using var service = new NatsConnection(new NatsOpts { Url = nats.Url });
        await service.PublishAsync(subject, body, headers: type is null ? null : new NatsHeaders { ["Gateway-Type"] = type });
        await service.PingAsync();
    }

    private static async Task AssertNothingMoreAsync(params TestClient[] clients)
    {
        // Anything still on its way from NATS arrives within this pause; the pong comes after it.
        await Task.Delay(300);
        foreach (var client in clients)
        {
            await client.SendTextAsync("""{"action":"ping"}""");
            Assert.Equal("""{"type":"pong"}""", await client.ReceiveTextAsync());
        }
    }

    [Fact]
    public async Task A_service_publishing_on_a_subject_reaches_matching_subscribers_on_two_nodes_and_bad_events_are_counted_not_delivered()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var a = await NodeAsync(nats);
        await using var b = await NodeAsync(nats);
        await using var onA = await SubscribedAsync(a, "events.org_123.>");
        await using var onB = await SubscribedAsync(b, "events.*.conversations.conversation.message_posted.*");

        // The type from the header, the data the JSON body as published.
        await PublishAsync(nats, Subject, """{"text":"hi","by":"ana"}"""u8.ToArray(), "message_posted");
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal($$$"""{"type":"message_posted","channel":"{{{Subject}}}","data":{"text":"hi","by":"ana"}}""", await client.ReceiveTextAsync());
        }

        // No header: the type field of a JSON object body. A text body: a JSON string. Bytes: their base64.
        await PublishAsync(nats, Subject, """{"type":"edited","n":2}"""u8.ToArray(), null);
        await PublishAsync(nats, Subject, "plain \"text\""u8.ToArray(), "note");
        await PublishAsync(nats, Subject, [0xff, 0x00, 0x10], "blob");

        // Refused: no type anywhere, an empty type header, a subject outside the ingested ones (never seen).
        await PublishAsync(nats, Subject, "no type"u8.ToArray(), null);
        await PublishAsync(nats, Subject, "1"u8.ToArray(), "");
        await PublishAsync(nats, "other.org_123", "1"u8.ToArray(), "x");
        await PublishAsync(nats, Subject, "3"u8.ToArray(), "last");
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal($$$"""{"type":"edited","channel":"{{{Subject}}}","data":{"type":"edited","n":2}}""", await client.ReceiveTextAsync());
            Assert.Equal($$"""{"type":"note","channel":"{{Subject}}","data":"plain \"text\""}""", await client.ReceiveTextAsync());
            Assert.Equal($$"""{"type":"blob","channel":"{{Subject}}","data":"/wAQ"}""", await client.ReceiveTextAsync());
            Assert.Equal($$"""{"type":"last","channel":"{{Subject}}","data":3}""", await client.ReceiveTextAsync());
        }

        await AssertNothingMoreAsync(onA, onB);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{a.ManagementEndPoint.Port}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        // Both nodes run in this process, and each one's exporter reads every "Gateway" meter of it: the counts are both nodes'.
        var bus = string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("gateway_bus_", StringComparison.Ordinal)));
        Assert.True(bus.Contains("engine=\"nats\",reason=\"type\"} 2", StringComparison.Ordinal), bus);
        Assert.True(bus.Contains("engine=\"nats\",reason=\"header\"} 2", StringComparison.Ordinal), bus);
        Assert.True(bus.Contains("engine=\"nats\"} 10", StringComparison.Ordinal), bus);
        Assert.Contains("gateway_backplane_available{otel_scope_name=\"Gateway\",engine=\"nats\"} 1\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_publish_goes_onto_the_bus_and_every_subscriber_gets_it_exactly_once()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var a = await NodeAsync(nats);
        await using var b = await NodeAsync(nats);
        await using var onA = await SubscribedAsync(a, "events.room");
        await using var onB = await SubscribedAsync(b, "events.>");
        await using var service = new NatsConnection(new NatsOpts { Url = nats.Url });
        await using var seen = await service.SubscribeCoreAsync<byte[]>("events.>");
        await service.PingAsync();

        Assert.Equal(System.Net.HttpStatusCode.OK, (await TopicTests.PostAsync(a, "/@topics/events.room", """{"type":"tick","data":{"n":1}}""")).Status);
        await b.Services.GetRequiredService<IGatewayPublisher>().PublishAsync("events.room", "tock", "2"u8.ToArray());
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal("""{"type":"tick","channel":"events.room","data":{"n":1}}""", await client.ReceiveTextAsync());
            Assert.Equal("""{"type":"tock","channel":"events.room","data":2}""", await client.ReceiveTextAsync());
        }

        await AssertNothingMoreAsync(onA, onB);

        // A service subscribed on NATS sees each publish once, as a service's own event would look.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var first = await seen.Msgs.ReadAsync(timeout.Token);
        var second = await seen.Msgs.ReadAsync(timeout.Token);
        Assert.Equal(("events.room", "tick", """{"n":1}"""), (first.Subject, (string?)first.Headers!["Gateway-Type"], Encoding.UTF8.GetString(first.Data!)));
        Assert.Equal(("events.room", "tock", "2"), (second.Subject, (string?)second.Headers!["Gateway-Type"], Encoding.UTF8.GetString(second.Data!)));
        await Task.Delay(200);
        Assert.False(seen.Msgs.TryRead(out _));
    }

    [Fact]
    public async Task With_PublishToBus_off_gateway_publishes_stay_inside_the_gateway_and_still_reach_every_node_once()
    {
        await using var nats = await NatsServer.StartAsync();
        var off = ("Gateway:Nats:PublishToBus", (string?)"false");
        await using var a = await NodeAsync(nats, off);
        await using var b = await NodeAsync(nats, off);
        await using var onA = await SubscribedAsync(a, "events.room");
        await using var onB = await SubscribedAsync(b, "events.room");
        await using var service = new NatsConnection(new NatsOpts { Url = nats.Url });
        await using var seen = await service.SubscribeCoreAsync<byte[]>("events.>");
        await service.PingAsync();

        await a.Services.GetRequiredService<IGatewayPublisher>().PublishAsync("events.room", "tick", "1"u8.ToArray());
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal("""{"type":"tick","channel":"events.room","data":1}""", await client.ReceiveTextAsync());
        }

        await AssertNothingMoreAsync(onA, onB);
        Assert.False(seen.Msgs.TryRead(out _));
    }

    [Fact]
    public async Task Events_of_a_history_subject_are_numbered_by_JetStream_whoever_publishes_them_and_recovered_through_another_node()
    {
        await using var nats = await NatsServer.StartAsync();
        var history = new[] { ("Gateway:Topics:History:0:Pattern", (string?)"events.>"), ("Gateway:Topics:History:0:Size", (string?)"50") };
        var a = await NodeAsync(nats, history);
        var b = await NodeAsync(nats, history);
        await using var watcher = await SubscribedAsync(b, "events.room");
        var epoch = "";
        var offsets = new List<long>();
        await using (var first = await a.ConnectAsync())
        {
            await first.SendTextAsync("""{"action":"subscribe","channel":"events.room"}""");
            epoch = (await TopicTests.NextJsonAsync(first)).GetProperty("epoch").GetString()!;

            // A service's events and the gateway's, with another topic of the same stream taking numbers in between.
            await PublishAsync(nats, "events.room", "1"u8.ToArray(), "tick");
            await PublishAsync(nats, "events.other", "0"u8.ToArray(), "tick");
            await TopicTests.PostAsync(a, "/@topics/events.room", """{"type":"tick","data":2}""");
            await PublishAsync(nats, "events.room", """{"type":"tick","n":3}"""u8.ToArray(), null);
            for (var n = 0; n < 3; n++)
            {
                offsets.Add((await TopicTests.NextJsonAsync(first)).GetProperty("offset").GetInt64());
            }
        }

        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(3, offsets.Distinct().Count());
        Assert.True(offsets[1] > offsets[0] + 1, "another topic of the stream took a number in between");

        await b.Services.GetRequiredService<IGatewayPublisher>().PublishAsync("events.room", "tick", "4"u8.ToArray());
        await PublishAsync(nats, "events.room", "5"u8.ToArray(), "tick");

        // The watcher saw all five, with the same numbers.
        var all = new List<JsonElement>();
        for (var n = 0; n < 5; n++)
        {
            all.Add(await TopicTests.NextJsonAsync(watcher));
        }

        Assert.Equal(offsets, all.Take(3).Select(e => e.GetProperty("offset").GetInt64()));

        // Back through the other node: exactly the two it missed, in order, then live ones.
        await using (var back = await b.ConnectAsync())
        {
            await back.SendTextAsync($$$"""{"action":"subscribe","channel":"events.room","since":{"offset":{{{offsets[2]}}},"epoch":"{{{epoch}}}"}}""");
            Assert.True((await TopicTests.NextJsonAsync(back)).GetProperty("recovered").GetBoolean());
            Assert.Equal(all[3].GetRawText(), (await TopicTests.NextJsonAsync(back)).GetRawText());
            Assert.Equal(all[4].GetRawText(), (await TopicTests.NextJsonAsync(back)).GetRawText());
            await PublishAsync(nats, "events.room", "6"u8.ToArray(), "tick");
            Assert.Equal(6, (await TopicTests.NextJsonAsync(back)).GetProperty("data").GetInt32());
            await AssertNothingMoreAsync(back);
        }

        // The stream made anew is another epoch: a position in the old one does not recover.
        await a.DisposeAsync();
        await b.DisposeAsync();
        await using (var admin = new NatsConnection(new NatsOpts { Url = nats.Url }))
        {
            var js = new NatsJSContext(admin);
            await foreach (var name in js.ListStreamNamesAsync())
            {
                if (name.Contains("_history_", StringComparison.Ordinal))
                {
                    await js.DeleteStreamAsync(name);
                }
            }
        }

        await using var c = await NodeAsync(nats, history);
        await using var late = await c.ConnectAsync();
        await late.SendTextAsync($$$"""{"action":"subscribe","channel":"events.room","since":{"offset":{{{offsets[2]}}},"epoch":"{{{epoch}}}"}}""");
        var answer = await TopicTests.NextJsonAsync(late);
        Assert.False(answer.GetProperty("recovered").GetBoolean());
        Assert.NotEqual(epoch, answer.GetProperty("epoch").GetString());
    }
}
