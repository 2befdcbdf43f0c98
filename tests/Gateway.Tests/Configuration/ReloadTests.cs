using System.Net;
using System.Text;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Tests.Auth;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Tests.Configuration;

/// <summary>Configuration changed while the gateway runs: what is connected stays, what comes next follows the new values.</summary>
public sealed class ReloadTests
{
    [Fact]
    public async Task A_route_added_or_changed_while_a_client_stays_connected_routes_its_next_message_the_new_way()
    {
        var settings = new ReloadableSettings(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$default:Handler"] = "mock",
            ["Gateway:Routes:$default:Response"] = "default-route",
            ["Gateway:Routes:ask:Handler"] = "mock",
            ["Gateway:Routes:ask:Response"] = "old-answer",
        });
        await using var host = await GatewayHost.StartAsync(reloadable: settings);
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("old-answer", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"action":"added"}""");
        Assert.Equal("default-route", await client.ReceiveTextAsync());

        settings.Apply(new Dictionary<string, string?>
        {
            ["Gateway:Routes:ask:Response"] = "new-answer",
            ["Gateway:Routes:added:Handler"] = "mock",
            ["Gateway:Routes:added:Response"] = "added-route",
        });

        await client.SendTextAsync("""{"action":"ask"}""");
        Assert.Equal("new-answer", await client.ReceiveTextAsync());
        await client.SendTextAsync("""{"action":"added"}""");
        Assert.Equal("added-route", await client.ReceiveTextAsync());
        Assert.True(host.Connection(client.Id).IsOpen);
        Assert.False(client.Closed.IsCompleted);
    }

    [Fact]
    public async Task A_rotated_jwt_signing_key_checks_new_handshakes_and_leaves_connected_clients_alone()
    {
        const string next = "the-next-signing-secret-of-at-least-32-bytes";
        var settings = new ReloadableSettings(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Routes:$default:Handler"] = "echo",
        });
        await using var host = await GatewayHost.StartAsync(reloadable: settings);
        var now = host.Time.GetUtcNow();
        var oldToken = TestTokens.Mint(now, "user-1");
        var newToken = TestTokens.Mint(now, "user-2", key: new SymmetricSecurityKey(Encoding.UTF8.GetBytes(next)));
        await using var connected = await host.ConnectAsync($"/?token={oldToken}");
        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, $"/?token={newToken}").WithTimeout());

        settings.Apply(new Dictionary<string, string?> { ["Gateway:Auth:Jwt:SigningKeys:0"] = next });

        Assert.Equal(HttpStatusCode.Unauthorized, await JwtAuthTests.RefusedWith(host, $"/?token={oldToken}").WithTimeout());
        await using var rotated = await host.ConnectAsync($"/?token={newToken}");
        await connected.SendTextAsync("still here");
        Assert.Equal("still here", await connected.ReceiveTextAsync());
        Assert.True(host.Connection(connected.Id).IsOpen);
    }

    [Fact]
    public async Task A_replaced_management_api_key_is_refused_with_403_and_the_new_one_works()
    {
        var settings = new ReloadableSettings(new Dictionary<string, string?> { ["Gateway:Management:ApiKeys:0"] = "old-key" });
        await using var host = await GatewayHost.StartAsync(reloadable: settings);
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}"), Timeout = Wait.Default };

        async Task<HttpStatusCode> GetWith(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/@connections/{client.Id}", UriKind.Relative));
            request.Headers.Add("x-api-key", key);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await GetWith("old-key"));
        Assert.Equal(HttpStatusCode.Forbidden, await GetWith("new-key"));

        settings.Apply(new Dictionary<string, string?> { ["Gateway:Management:ApiKeys:0"] = "new-key" });

        Assert.Equal(HttpStatusCode.Forbidden, await GetWith("old-key"));
        Assert.Equal(HttpStatusCode.OK, await GetWith("new-key"));
    }

    [Fact]
    public async Task A_lower_message_size_limit_applies_to_a_connected_client_from_its_next_message()
    {
        var settings = new ReloadableSettings(new Dictionary<string, string?>
        {
            ["Gateway:Connections:MaxMessageBytes"] = "1024",
            ["Gateway:Routes:$default:Handler"] = "echo",
        });
        await using var host = await GatewayHost.StartAsync(reloadable: settings);
        await using var client = await host.ConnectAsync();
        var message = new string('a', 500);
        await client.SendTextAsync(message);
        Assert.Equal(message, await client.ReceiveTextAsync());

        settings.Apply(new Dictionary<string, string?> { ["Gateway:Connections:MaxMessageBytes"] = "100" });

        await client.SendTextAsync(message);
        Assert.Equal(CloseCodes.MessageTooBig, (await client.Closed.WithTimeout()).CloseStatus);
    }

    [Fact]
    public async Task A_shorter_idle_timeout_applies_to_a_connected_client_from_the_next_sweep()
    {
        var settings = new ReloadableSettings(new Dictionary<string, string?>
        {
            ["Gateway:Connections:IdleTimeout"] = "00:10:00",
            ["Gateway:Connections:PingInterval"] = "00:00:00",
        });
        await using var host = await GatewayHost.StartAsync(reloadable: settings);
        await using var client = await host.ConnectAsync();
        host.Advance(TimeSpan.FromMinutes(2));
        Assert.False(client.Closed.IsCompleted);

        settings.Apply(new Dictionary<string, string?> { ["Gateway:Connections:IdleTimeout"] = "00:01:00" });
        host.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(CloseCodes.GoingAway, (await client.Closed.WithTimeout()).CloseStatus);
        Assert.Equal("Idle timeout", (await host.Events.DisconnectOf(client.Id)).Reason);
    }

    [Fact]
    public async Task A_bad_reload_logs_every_problem_in_one_event_and_keeps_the_last_good_configuration()
    {
        var log = new RecordingLogger<GatewayConfiguration>();
        var settings = new ReloadableSettings(new Dictionary<string, string?>
        {
            ["Gateway:Connections:MaxMessageBytes"] = "1024",
            ["Gateway:Routes:$default:Handler"] = "mock",
            ["Gateway:Routes:$default:Response"] = "old-default",
        });
        await using var host = await GatewayHost.StartAsync(reloadable: settings, gateway: g => g.Services.AddSingleton<ILogger<GatewayConfiguration>>(log));
        await using var client = await host.ConnectAsync();

        settings.Apply(new Dictionary<string, string?>
        {
            ["Gateway:Connections:MaxMessageBytes"] = "0",
            ["Gateway:Connections:IdleTimeout"] = "banana",
            ["Gateway:Routes:$default:Response"] = "new-default",
        });

        var refused = Assert.Single(log.Of(1802));
        Assert.Contains("Gateway:Connections:MaxMessageBytes 0", refused, StringComparison.Ordinal);
        Assert.Contains("Gateway:Connections:IdleTimeout: 'banana'", refused, StringComparison.Ordinal);
        Assert.Empty(log.Of(1801));
        Assert.Equal(1024, host.Services.GetRequiredService<GatewayConfiguration>().Current.Connections.MaxMessageBytes);

        // The old routes and limits serve the connected client and a new one alike.
        var message = new string('a', 500);
        await client.SendTextAsync(message);
        Assert.Equal("old-default", await client.ReceiveTextAsync());
        await using var newcomer = await host.ConnectAsync();
        await newcomer.SendTextAsync(message);
        Assert.Equal("old-default", await newcomer.ReceiveTextAsync());

        settings.Apply(new Dictionary<string, string?>
        {
            ["Gateway:Connections:MaxMessageBytes"] = "2048",
            ["Gateway:Connections:IdleTimeout"] = null,
        });

        Assert.Single(log.Of(1801));
        await client.SendTextAsync(message);
        Assert.Equal("new-default", await client.ReceiveTextAsync());
    }
}
