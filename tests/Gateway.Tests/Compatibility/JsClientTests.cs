using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>
/// The JavaScript client (clients/js) against real gateways, driven by Node scripts in tests/compat: commands and topics on
/// one node, recovery across a restart and across nodes behind haproxy, and the library in Chromium.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class JsClientTests(ITestOutputHelper output)
{
    private static readonly string Compat = Repository.PathOf("tests", "compat");

    [Theory]
    [InlineData("action")]
    [InlineData("type")]
    public async Task Subscribes_correlates_queues_recovers_refreshes_and_streams(string naming)
    {
        var backendPort = NodeProcess.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
            ["Gateway:Topics:History:0:Size"] = "100",
            ["Gateway:Topics:Presence:0:Pattern"] = "room.*",
            ["Gateway:Topics:ClientPublish:0:Pattern"] = "chat.>",
            ["Gateway:Topics:ClientPublish:0:RatePerSecond"] = "100",
            ["Gateway:Routes:$default:Handler"] = "echo",
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = $"http://127.0.0.1:{backendPort}/ask",
            ["Gateway:Routes:ask:Integration:Envelope"] = "Connector",
            ["Gateway:Routes:plain:Integration:Type"] = "http",
            ["Gateway:Routes:plain:Integration:Uri"] = $"http://127.0.0.1:{backendPort}/plain",
            ["Gateway:Routes:plain:Integration:Envelope"] = "Connector",
        };
        if (naming == "type")
        {
            settings["Gateway:RouteSelectionExpression"] = "$request.body.type";
        }

        await using var host = await GatewayHost.StartAsync(settings, realClock: true, recordDisconnect: false);
        await RunAsync("js-client.e2e.mjs", new Dictionary<string, string>
        {
            ["GATEWAY_CLIENT_URL"] = host.ClientUri("/prod").ToString(),
            ["GATEWAY_MANAGEMENT_URL"] = $"http://127.0.0.1:{host.ManagementEndPoint.Port}",
            ["BACKEND_PORT"] = backendPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CLIENT_NAMING"] = naming,
        });
    }

    private async Task RunAsync(string script, Dictionary<string, string> environment)
    {
        Assert.True(Directory.Exists(Path.Combine(Compat, "node_modules")), "tests/compat/node_modules is missing: run ./test.sh, which installs it with npm ci");
        environment["JWT_SECRET"] = TestTokens.Secret;
        environment["JWT_ISSUER"] = TestTokens.Issuer;
        environment["JWT_AUDIENCE"] = TestTokens.Audience;
        var (exitCode, report) = await NodeProcess.RunTestsAsync(Compat, environment, script);
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# fail 0", report, StringComparison.Ordinal);
        Assert.DoesNotContain("# pass 0\n", report, StringComparison.Ordinal);
    }
}
