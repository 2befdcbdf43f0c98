using Gateway.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Configuration;

/// <summary>How <c>Topics:Presence</c> and <c>Topics:Webhooks</c> are read and checked.</summary>
public sealed class PresenceOptionsTests
{
    private static (GatewayOptions? Options, string[] Failures) Read(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        using var provider = new ServiceCollection().AddWebSocketGateway(configuration.GetSection("Gateway")).Services.BuildServiceProvider();
        try
        {
            return (provider.GetRequiredService<IOptions<GatewayOptions>>().Value, []);
        }
        catch (OptionsValidationException ex)
        {
            return (null, [.. ex.Failures]);
        }
    }

    [Fact]
    public void The_rules_are_the_numbered_keys_and_InfoClaims_sits_beside_them()
    {
        var (options, failures) = Read(new()
        {
            ["Gateway:Topics:Presence:0:Pattern"] = "room.*",
            ["Gateway:Topics:Presence:1:Pattern"] = "chat.>",
            ["Gateway:Topics:Presence:1:MaxMembers"] = "50",
            ["Gateway:Topics:Presence:InfoClaims:0"] = "name",
            ["Gateway:Topics:Presence:InfoClaims:1"] = "avatar",
        });
        Assert.Empty(failures);
        var presence = options!.Topics.Presence;
        Assert.Equal(["room.*", "chat.>"], presence.Rules.Select(r => r.Pattern));
        Assert.Equal([1000, 50], presence.Rules.Select(r => r.MaxMembers));
        Assert.Equal(["name", "avatar"], presence.InfoClaims);
    }

    [Fact]
    public void Every_problem_of_presence_and_webhooks_is_named_by_its_key()
    {
        var (_, failures) = Read(new()
        {
            ["Gateway:Topics:Presence:0:Pattern"] = "room.>.x",
            ["Gateway:Topics:Presence:1:Pattern"] = "ok.*",
            ["Gateway:Topics:Presence:1:MaxMembers"] = "0",
            ["Gateway:Topics:Presence:2:Pattern"] = "fine",
            ["Gateway:Topics:Presence:2:MaxMembers"] = "banana",
            ["Gateway:Topics:Webhooks:0:Pattern"] = "room.*",
            ["Gateway:Topics:Webhooks:0:Uri"] = "ftp://hooks",
            ["Gateway:Topics:Webhooks:0:Events:0"] = "joined",
            ["Gateway:Topics:Webhooks:1:Pattern"] = "room.*",
            ["Gateway:Topics:Webhooks:1:Uri"] = "http://127.0.0.1:9/hooks",
            ["Gateway:Topics:Webhooks:1:MaxAttempts"] = "0",
        });
        foreach (var expected in new[]
        {
            "Gateway:Topics:Presence:0:Pattern 'room.>.x'", "Gateway:Topics:Presence:1:MaxMembers", "banana",
            "Gateway:Topics:Webhooks:0:Uri 'ftp://hooks'", "(not: joined)", "Gateway:Topics:Webhooks:1:Events", "Gateway:Topics:Webhooks:1: MaxAttempts",
        })
        {
            Assert.Contains(failures, f => f.Contains(expected, StringComparison.Ordinal));
        }
    }
}
