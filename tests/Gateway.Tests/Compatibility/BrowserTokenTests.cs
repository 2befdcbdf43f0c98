using Gateway.Tests.Auth;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>A real browser (Chromium) connects with its JWT offered as a WebSocket subprotocol.</summary>
[Collection(SerialProcesses.Name)]
public class BrowserTokenTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Chromium_connects_with_its_token_as_a_subprotocol()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
        }, g => g.MapRoute<WhoAmI>("whoami"), realClock: true, recordDisconnect: false);
        var now = DateTimeOffset.UtcNow;

        var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
        {
            ["GATEWAY_CLIENT_URL"] = host.ClientUri("/prod").ToString(),
            ["GOOD_TOKEN"] = TestTokens.Mint(now, "browser-user"),
            ["BAD_TOKEN"] = TestTokens.Mint(now, "browser-user", issuer: "https://evil.test/"),
        }, "browser-token.e2e.mjs");
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 1", report, StringComparison.Ordinal);
    }
}
