using Gateway.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Configuration;

/// <summary>Values of the wrong type are validation errors like any other, in the library as in the server.</summary>
public class ConfigurationValuesTests
{
    [Fact]
    public void Values_that_do_not_convert_are_reported_with_key_value_and_form_together_with_the_validators_errors()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Gateway:Connections:IdleTimeout"] = "banana",
            ["Gateway:Connections:MaxMessageBytes"] = "0",
            ["Gateway:Connections:SendQueueLimit"] = "lots",
            ["Gateway:Connections:BinaryFrames"] = "sometimes",
            ["Gateway:Connections:SendConnectedMessage"] = "",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
            ["Gateway:Topics:History:0:Size"] = "1e3",
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = "http://127.0.0.1:1/",
            ["Gateway:Routes:ask:Integration:Timeout"] = "29s",
            ["Gateway:Stage"] = "dev",
            ["Gateway:NotAnOption"] = "ignored, as the binder ignores it",
        }).Build();
        var services = new ServiceCollection();
        services.AddWebSocketGateway(configuration.GetSection("Gateway"));
        using var provider = services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<GatewayOptions>>().Value);
        var failures = failure.Failures.ToList();
        Assert.Contains("Gateway:Connections:IdleTimeout: 'banana' is not a time span: write hh:mm:ss, for example 00:10:00 (d.hh:mm:ss for days).", failures);
        Assert.Contains("Gateway:Connections:SendQueueLimit: 'lots' is not a whole number (at most 2147483647).", failures);
        Assert.Contains("Gateway:Connections:BinaryFrames: 'sometimes' is not one of Route, Reject.", failures);
        Assert.Contains("Gateway:Connections:SendConnectedMessage: '' is not true or false.", failures);
        Assert.Contains("Gateway:Topics:History:0:Size: '1e3' is not a whole number (at most 2147483647).", failures);
        Assert.Contains("Gateway:Routes:ask:Integration:Timeout: '29s' is not a time span: write hh:mm:ss, for example 00:10:00 (d.hh:mm:ss for days).", failures);
        Assert.Contains(failures, f => f.Contains("MaxMessageBytes 0", StringComparison.Ordinal));
        Assert.Equal(7, failures.Count);
    }

    [Fact]
    public void Good_values_bind_as_the_binder_binds_them()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["IdleTimeout"] = "00:05:00",
            ["BinaryFrames"] = "reject",
            ["SendConnectedMessage"] = "False",
            ["TrustedProxies:0"] = "10.0.0.1",
        }).Build();
        var options = new ConnectionsOptions();
        Assert.Empty(ConfigurationValues.Bind(configuration, options));
        Assert.Equal(TimeSpan.FromMinutes(5), options.IdleTimeout);
        Assert.Equal(BinaryFrameHandling.Reject, options.BinaryFrames);
        Assert.False(options.SendConnectedMessage);
        Assert.Equal(["10.0.0.1"], options.TrustedProxies);
    }
}
