using System.Text;
using System.Text.Json;
using Gateway.Tests.Infrastructure;
using Gateway.Topics;

namespace Gateway.Tests.Topics;

public sealed class TopicHistoryTests
{
    private static Dictionary<string, string?> History(string size = "5", string ttl = "00:10:00") => new()
    {
        ["Gateway:Topics:History:0:Pattern"] = "events.>",
        ["Gateway:Topics:History:0:Size"] = size,
        ["Gateway:Topics:History:0:Ttl"] = ttl,
    };

    private static async Task PublishAsync(GatewayHost host, string topic, int n) =>
        await TopicTests.PostAsync(host, $"/@topics/{topic}", $$"""{"type":"tick","data":{{n}}}""");

    private static async Task<JsonElement> SubscribeAsync(TestClient client, string channel, long? offset = null, string? epoch = null)
    {
        var since = offset is null ? "" : $$""","since":{"offset":{{offset}},"epoch":"{{epoch}}"}""";
        await client.SendTextAsync($$"""{"action":"subscribe","channel":"{{channel}}"{{since}}}""");
        return await TopicTests.NextJsonAsync(client);
    }

    [Fact]
    public async Task A_reconnecting_client_recovers_exactly_what_it_missed_then_live_events()
    {
        await using var host = await GatewayHost.StartAsync(History());
        string epoch;
        long seen;
        await using (var first = await host.ConnectAsync())
        {
            var subscribed = await SubscribeAsync(first, "events.room1");
            epoch = subscribed.GetProperty("epoch").GetString()!;
            Assert.Equal(0, subscribed.GetProperty("offset").GetInt64());
            Assert.False(subscribed.TryGetProperty("recovered", out _));
            for (var n = 1; n <= 3; n++)
            {
                await PublishAsync(host, "events.room1", n);
                var e = await TopicTests.NextJsonAsync(first);
                Assert.Equal(n, e.GetProperty("data").GetInt32());
                Assert.Equal(n, e.GetProperty("offset").GetInt64());
            }

            seen = 3;
        }

        await PublishAsync(host, "events.room1", 4);
        await PublishAsync(host, "events.room1", 5);
        await using var back = await host.ConnectAsync();
        var resumed = await SubscribeAsync(back, "events.room1", seen, epoch);
        Assert.True(resumed.GetProperty("recovered").GetBoolean());
        Assert.Equal(epoch, resumed.GetProperty("epoch").GetString());
        Assert.Equal(5, resumed.GetProperty("offset").GetInt64());
        Assert.Equal(4, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
        Assert.Equal(5, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());
        await PublishAsync(host, "events.room1", 6);
        Assert.Equal(6, (await TopicTests.NextJsonAsync(back)).GetProperty("offset").GetInt64());

        // Up to date already: recovered, nothing replayed.
        await using var current = await host.ConnectAsync();
        Assert.True((await SubscribeAsync(current, "events.room1", 6, epoch)).GetProperty("recovered").GetBoolean());
        await PublishAsync(host, "events.room1", 7);
        Assert.Equal(7, (await TopicTests.NextJsonAsync(current)).GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task When_the_history_no_longer_reaches_back_or_the_epoch_changed_the_client_is_told_recovered_false()
    {
        await using var host = await GatewayHost.StartAsync(History(size: "5", ttl: "00:01:00"));
        await using var watcher = await host.ConnectAsync();
        var epoch = (await SubscribeAsync(watcher, "events.room2")).GetProperty("epoch").GetString()!;
        for (var n = 1; n <= 10; n++)
        {
            await PublishAsync(host, "events.room2", n);
        }

        async Task<JsonElement> Resume(long offset, string e)
        {
            await using var client = await host.ConnectAsync();
            var answer = await SubscribeAsync(client, "events.room2", offset, e);
            await client.SendTextAsync("""{"action":"ping"}""");
            Assert.Equal("pong", (await TopicTests.NextJsonAsync(client)).GetProperty("type").GetString()); // nothing replayed before it
            return answer;
        }

        Assert.False((await Resume(4, epoch)).GetProperty("recovered").GetBoolean()); // 5 was dropped (size 5 keeps 6..10)
        Assert.False((await Resume(9, "another-epoch")).GetProperty("recovered").GetBoolean());
        Assert.False((await Resume(11, epoch)).GetProperty("recovered").GetBoolean());

        await using (var ok = await host.ConnectAsync())
        {
            Assert.True((await SubscribeAsync(ok, "events.room2", 5, epoch)).GetProperty("recovered").GetBoolean());
            for (var n = 6; n <= 10; n++)
            {
                Assert.Equal(n, (await TopicTests.NextJsonAsync(ok)).GetProperty("offset").GetInt64());
            }
        }

        host.Advance(TimeSpan.FromSeconds(61));
        Assert.False((await Resume(8, epoch)).GetProperty("recovered").GetBoolean());
        Assert.True((await Resume(10, epoch)).GetProperty("recovered").GetBoolean());
    }

    [Fact]
    public async Task Topics_without_history_carry_no_offsets()
    {
        await using var host = await GatewayHost.StartAsync(History());
        await using var client = await host.ConnectAsync();
        var subscribed = await SubscribeAsync(client, "other.topic", 3, "e");
        Assert.False(subscribed.TryGetProperty("epoch", out _));
        await PublishAsync(host, "other.topic", 1);
        Assert.False((await TopicTests.NextJsonAsync(client)).TryGetProperty("offset", out _));
    }

    [Fact]
    public async Task Recovery_while_events_are_being_published_has_no_gap_and_no_duplicate()
    {
        // A recovering client is sent every missed event at once: its send queue must hold a whole history.
        var settings = History(size: "5000");
        settings["Gateway:Connections:SendQueueLimit"] = "20000";
        await using var host = await GatewayHost.StartAsync(settings);
        var hub = host.Services.GetRequiredService<TopicHub>();
        await using var first = await host.ConnectAsync();
        var epoch = (await SubscribeAsync(first, "events.fast")).GetProperty("epoch").GetString()!;
        const int Total = 3000;
        using var started = new SemaphoreSlim(0);
        var publisher = Task.Run(() =>
        {
            for (var n = 1; n <= Total; n++)
            {
                hub.PublishLocal("events.fast", "tick", Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                if (n == 200)
                {
                    started.Release();
                }
            }
        });

        await started.WaitAsync();
        for (var round = 0; round < 5; round++)
        {
            await using var client = await host.ConnectAsync();
            var since = 100 + (round * 10);
            var answer = await SubscribeAsync(client, "events.fast", since, epoch);
            Assert.True(answer.GetProperty("recovered").GetBoolean());
            var expected = since + 1;
            var last = round == 4 ? Total : answer.GetProperty("offset").GetInt64() + 50;
            while (expected <= Math.Min(last, Total))
            {
                var e = await TopicTests.NextJsonAsync(client);
                Assert.Equal(expected, e.GetProperty("offset").GetInt64());
                Assert.Equal(expected, e.GetProperty("data").GetInt64());
                expected++;
            }
        }

        await publisher;
    }
}
