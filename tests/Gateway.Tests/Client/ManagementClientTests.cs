using System.Net;
using System.Text.Json;
using Gateway.Client.Management;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Client;

/// <summary>
/// The .NET management client against a real gateway on loopback with both kinds of credentials configured: every call,
/// with an API key and signed with Signature Version 4 (checked by the gateway's own verifier), and each error type.
/// </summary>
public class ManagementClientTests
{
    private const string AccessKeyId = "AKIDCLIENTTEST01";
    private const string Secret = "client/secret+with=odd chars";
    private const string ApiKey = "client-key-0123456789";

    private static Task<GatewayHost> StartAsync() => GatewayHost.StartAsync(new Dictionary<string, string?>
    {
        ["Gateway:Management:Credentials:0:AccessKeyId"] = AccessKeyId,
        ["Gateway:Management:Credentials:0:SecretAccessKey"] = Secret,
        ["Gateway:Management:ApiKeys:0"] = ApiKey,
        ["Gateway:Management:MaxPayloadBytes"] = "1024",
        ["Gateway:Topics:MaxSubscriptionsPerConnection"] = "2",
        ["Gateway:Topics:Presence:0:Pattern"] = "room.*",
        ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
        ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
        ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
        ["Gateway:Auth:Jwt:Required"] = "false",
        ["Gateway:Topics:Authorization:AllowAll"] = "true",
    }, recordDisconnect: false);

    private static GatewayManagementClient Signed(HttpClient http, GatewayHost host, TimeProvider? clock = null, string secret = Secret) => new(http, new GatewayManagementClientOptions
    {
        Endpoint = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/prod"),
        AccessKeyId = AccessKeyId,
        SecretAccessKey = secret,
        Region = "eu-west-1",
        TimeProvider = clock ?? host.Time,
    });

    private static GatewayManagementClient Keyed(HttpClient http, GatewayHost host, string key = ApiKey) => new(http, new GatewayManagementClientOptions
    {
        Endpoint = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/"),
        ApiKey = key,
    });

    [Fact]
    public async Task Every_call_works_with_an_API_key_and_with_a_signature()
    {
        await using var host = await StartAsync();
        using var http = new HttpClient();
        foreach (var api in new[] { Keyed(http, host), Signed(http, host) })
        {
            var token = TestTokens.Mint(host.Time.GetUtcNow(), subject: "ann");
            await using var client = await host.ConnectAsync("/?token=" + token);

            // The three calls of Amazon's API, and HEAD.
            await api.PostToConnectionAsync(client.Id, "hello é");
            Assert.Equal("hello é", await client.ReceiveTextAsync());
            await api.PostToConnectionAsync(client.Id, new byte[] { 0xff, 0x00 });
            Assert.Equal(new byte[] { 0xff, 0x00 }, (await client.ReceiveAsync()).Data);
            var info = await api.GetConnectionAsync(client.Id);
            Assert.Equal("127.0.0.1", info.Identity.SourceIp);
            Assert.Equal(host.Time.GetUtcNow(), info.ConnectedAt);
            Assert.True(await api.ConnectionExistsAsync(client.Id));

            // Server-side subscriptions, publish, topic info with presence.
            await api.SubscribeConnectionAsync(client.Id, "room.1");
            Assert.Contains("\"by\":\"server\"", await client.ReceiveTextAsync(), StringComparison.Ordinal);
            var topic = await api.GetTopicAsync("room.1");
            Assert.Equal(("room.1", 1, true), (topic.Channel, topic.Subscribers, topic.Complete));
            Assert.Equal("ann", topic.Members[0].GetProperty("userId").GetString());
            Assert.Equal(1, await api.PublishAsync("room.1", "said", new { text = "hi" }));
            Assert.Equal("""{"type":"said","channel":"room.1","data":{"text":"hi"}}""", await client.ReceiveTextAsync());
            Assert.Equal(0, await api.PublishAsync("room.1", "said", 1, exclude: [client.Id]));
            await api.UnsubscribeConnectionAsync(client.Id, "room.1");
            Assert.Contains("\"unsubscribed\"", await client.ReceiveTextAsync(), StringComparison.Ordinal);

            // Users, broadcast, batch.
            var user = await api.GetUserConnectionsAsync("ann");
            Assert.Equal(client.Id, Assert.Single(user.Connections).ConnectionId);
            Assert.Empty((await api.GetUserConnectionsAsync("nobody")).Connections);
            Assert.Equal(1, await api.SendToUserAsync("ann", "to ann"));
            Assert.Equal("to ann", await client.ReceiveTextAsync());
            Assert.Equal(1, await api.BroadcastAsync("to all"));
            Assert.Equal("to all", await client.ReceiveTextAsync());
            var results = await api.BatchAsync([
                BatchItem.ToConnection(client.Id, "b1"),
                BatchItem.ToUser("ann", "b2"),
                BatchItem.ToConnection("k3Jt8aQxAAAAAZ9vY2Lw", "gone"),
            ]);
            Assert.Equal([200, 200, 410], results.Select(r => r.Status));
            Assert.Equal(("GoneException", 1), (results[2].ErrorType, results[0].Delivered));
            // A connection item and a user item run concurrently: either may come first.
            Assert.Equal(["b1", "b2"], new[] { await client.ReceiveTextAsync(), await client.ReceiveTextAsync() }.Order(StringComparer.Ordinal));

            // DELETE closes it; then it is gone.
            await api.DeleteConnectionAsync(client.Id);
            Assert.Equal(1000, (await client.Closed.WithTimeout()).CloseStatus);
            Assert.False(await api.ConnectionExistsAsync(client.Id));
            var gone = await Assert.ThrowsAsync<GoneException>(() => api.PostToConnectionAsync(client.Id, "late"));
            Assert.Equal((HttpStatusCode.Gone, "GoneException"), (gone.StatusCode, gone.ErrorType));
        }
    }

    [Fact]
    public async Task Error_answers_become_their_exceptions()
    {
        await using var host = await StartAsync();
        using var http = new HttpClient();
        var api = Keyed(http, host);
        await using var client = await host.ConnectAsync();

        var bad = await Assert.ThrowsAsync<BadRequestException>(() => api.GetConnectionAsync("short"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.False(string.IsNullOrEmpty(bad.Message));
        await Assert.ThrowsAsync<BadRequestException>(() => api.PublishAsync("news.*", "t", 1));
        var large = await Assert.ThrowsAsync<PayloadTooLargeException>(() => api.PostToConnectionAsync(client.Id, new string('x', 2000)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);

        // Over MaxSubscriptionsPerConnection (2) is 429.
        await api.SubscribeConnectionAsync(client.Id, "a.1");
        await api.SubscribeConnectionAsync(client.Id, "a.2");
        var limit = await Assert.ThrowsAsync<LimitExceededException>(() => api.SubscribeConnectionAsync(client.Id, "a.3"));
        Assert.Equal((HttpStatusCode)429, limit.StatusCode);

        // Wrong credentials of either kind, and a signature dated 20 minutes off the gateway's clock, are 403.
        var forbidden = await Assert.ThrowsAsync<ForbiddenException>(() => Keyed(http, host, "wrong-key").GetConnectionAsync(client.Id));
        Assert.Equal((HttpStatusCode.Forbidden, "ForbiddenException"), (forbidden.StatusCode, forbidden.ErrorType));
        await Assert.ThrowsAsync<ForbiddenException>(() => Signed(http, host, secret: "not the secret").GetConnectionAsync(client.Id));
        var skewed = new FakeTimeProvider(host.Time.GetUtcNow() + TimeSpan.FromMinutes(20));
        await Assert.ThrowsAsync<ForbiddenException>(() => Signed(http, host, skewed).GetConnectionAsync(client.Id));
        await Assert.ThrowsAsync<ForbiddenException>(() => new GatewayManagementClient(http, new GatewayManagementClientOptions { Endpoint = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/") }).GetConnectionAsync(client.Id));

        // Within the allowed skew, the same signer is accepted.
        skewed.AdjustTime(host.Time.GetUtcNow() + TimeSpan.FromMinutes(10));
        Assert.True(await Signed(http, host, skewed).ConnectionExistsAsync(client.Id));
    }

    [Fact]
    public async Task The_client_comes_from_the_HttpClient_factory()
    {
        await using var host = await StartAsync();
        var services = new ServiceCollection();
        services.AddGatewayManagementClient(o =>
        {
            o.Endpoint = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/");
            o.AccessKeyId = AccessKeyId;
            o.SecretAccessKey = Secret;
            o.TimeProvider = host.Time;
        });
        await using var provider = services.BuildServiceProvider();
        await using var client = await host.ConnectAsync();
        var api = provider.GetRequiredService<GatewayManagementClient>();
        await api.PostToConnectionAsync(client.Id, "via the factory");
        Assert.Equal("via the factory", await client.ReceiveTextAsync());
        Assert.Equal(JsonValueKind.Object, (await api.GetConnectionAsync(client.Id)).Body.ValueKind);
    }
}
