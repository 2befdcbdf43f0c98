using System.Net;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Management;
using Gateway.Tests.Topics;

namespace Gateway.Tests.Presence;

/// <summary>Webhooks on one node: what is posted, its signature, retries on the injected clock, and a dead backend.</summary>
public sealed class WebhookTests
{
    private static Dictionary<string, string?> Settings(Uri uri, int maxAttempts = 6) => new()
    {
        ["Gateway:Topics:Authorization:AllowAll"] = "true",
        ["Gateway:Topics:Presence:0:Pattern"] = "room.*",
        ["Gateway:Topics:Webhooks:0:Pattern"] = "room.>",
        ["Gateway:Topics:Webhooks:0:Uri"] = uri.ToString(),
        ["Gateway:Topics:Webhooks:0:Secret"] = "s3cret-value",
        ["Gateway:Topics:Webhooks:0:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Gateway:Topics:Webhooks:0:Events:0"] = "occupied",
        ["Gateway:Topics:Webhooks:0:Events:1"] = "join",
        ["Gateway:Topics:Webhooks:0:Events:2"] = "vacated",
    };

    [Fact]
    public async Task Events_are_posted_signed_and_retried_with_doubling_waits_until_the_backend_takes_them()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        var failures = 2;
        backend.Answer = (_, http) =>
        {
            if (Interlocked.Decrement(ref failures) >= 0)
            {
                http.Response.StatusCode = 503;
            }

            return Task.CompletedTask;
        };
        await using var host = await GatewayHost.StartAsync(Settings(backend.Url("/hook")));
        var (listener, outcomes) = Outcomes(host);
        using var counting = listener;
        await using var client = await host.ConnectAsync();
        await ManagementCalls.SubscribeAsync("room.7", client);

        // Two failed attempts of "occupied": retried after 1 s, then 2 s of the injected clock (each wait begins once
        // the failure is counted, which the test reads in the metrics before it moves the clock).
        await Wait.UntilAsync(() => backend.Requests.Count == 1, "the first attempt");
        await Wait.UntilAsync(() => outcomes.Count(o => o.Outcome == "retried") == 1, "the first retry counted");
        await Task.Delay(100);
        host.Advance(TimeSpan.FromMilliseconds(900));
        await Task.Delay(200);
        Assert.Single(backend.Requests);
        host.Advance(TimeSpan.FromMilliseconds(100));
        await Wait.UntilAsync(() => backend.Requests.Count == 2, "the second attempt, 1 s later");
        await Wait.UntilAsync(() => outcomes.Count(o => o.Outcome == "retried") == 2, "the second retry counted");
        await Task.Delay(100);
        host.Advance(TimeSpan.FromMilliseconds(1900));
        await Task.Delay(200);
        Assert.Equal(2, backend.Requests.Count);
        host.Advance(TimeSpan.FromMilliseconds(100));
        await Wait.UntilAsync(() => backend.Requests.Count == 4, "the third attempt of occupied, 2 s later, then the join");

        var posted = backend.Requests.ToList();
        Assert.Equal(["occupied", "occupied", "occupied", "join"], posted.Select(p => p.Json.GetProperty("event").GetString()));
        Assert.Single(posted.Take(3).Select(p => p.Json.GetProperty("id").GetString()).Distinct());
        var join = posted[3].Json;
        Assert.Equal("room.7", join.GetProperty("channel").GetString());
        Assert.Equal(client.Id, join.GetProperty("member").GetProperty("connectionId").GetString());
        Assert.Equal(host.Services.GetRequiredService<Gateway.Connections.GatewayNode>().Id, join.GetProperty("node").GetString());
        Assert.Equal("2026-01-01T00:00:00.000Z", join.GetProperty("timestamp").GetString());
        foreach (var request in posted)
        {
            Assert.Equal("application/json", request.Headers.ContentType.ToString());
            var timestamp = request.Headers["X-Gateway-Timestamp"].ToString();
            var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("s3cret-value"u8, [.. System.Text.Encoding.UTF8.GetBytes(timestamp + "."), .. request.Body]));
            Assert.Equal("sha256=" + expected, request.Headers["X-Gateway-Signature"].ToString());
        }

        await client.CloseAsync();
        await Wait.UntilAsync(() => backend.Requests.Count == 5, "vacated (no leave: the webhook does not want it)");
        Assert.Equal("vacated", backend.Requests.Last().Json.GetProperty("event").GetString());
    }

    /// <summary>Starts counting the webhook outcomes of <paramref name="host"/>'s own meter (every host of the process has one).</summary>
    private static (System.Diagnostics.Metrics.MeterListener Listener, System.Collections.Concurrent.ConcurrentQueue<(string Event, string Outcome)> Seen) Outcomes(GatewayHost host)
    {
        var meters = host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(string, string)>();
        var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "gateway.webhooks.deliveries" && ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var values = tags.ToArray().ToDictionary(t => t.Key, t => t.Value as string);
            seen.Enqueue((values.GetValueOrDefault("event") ?? "", values.GetValueOrDefault("outcome") ?? ""));
        });
        listener.Start();
        return (listener, seen);
    }

    [Fact]
    public async Task A_dead_webhook_is_given_up_logged_and_counted_and_clients_never_wait_for_it()
    {
        await using var backend = await IntegrationBackend.StartAsync();
        backend.Answer = (_, http) =>
        {
            http.Response.StatusCode = (int)HttpStatusCode.InternalServerError;
            return Task.CompletedTask;
        };
        await using var host = await GatewayHost.StartAsync(Settings(backend.Url("/dead?token=query-secret"), maxAttempts: 2));
        var (listener, outcomes) = Outcomes(host);
        using var counting = listener;
        await using var watcher = await host.ConnectAsync();
        await ManagementCalls.SubscribeAsync("room.8", watcher);
        var members = new List<TestClient>();
        for (var i = 0; i < 3; i++)
        {
            members.Add(await host.ConnectAsync());
            await ManagementCalls.SubscribeAsync("room.8", members[i]);
            Assert.Equal("join", (await TopicTests.NextJsonAsync(watcher)).GetProperty("type").GetString());
        }

        // Five events (occupied, the watcher's join and three more) of two attempts each, one second apart on the injected
        // clock; each given up is counted by this host's meter.
        string[] Failed() => [.. outcomes.Where(o => o.Outcome == "failed").Select(o => o.Event).Order(StringComparer.Ordinal)];
        for (var waited = 0; waited < 100 && Failed().Length < 5; waited++)
        {
            host.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }

        Assert.Equal(["join", "join", "join", "join", "occupied"], Failed());
        Assert.Equal(10, backend.Requests.Count);
        await ManagementCalls.AssertNothingMoreAsync(watcher);
        foreach (var member in members)
        {
            await member.DisposeAsync();
        }
    }
}
