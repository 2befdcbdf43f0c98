using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>
/// Clients nobody here wrote, against a started gateway: the AWS SDK v3 and v2 management clients and
/// wscat, from npm (tests/compat, installed by ./test.sh), run by Node's own test runner.
/// </summary>
[Collection(SerialProcesses.Name)]
public class RealClientTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_AWS_SDK_clients_and_wscat_work_unchanged()
    {
        await using var host = await GatewayHost.StartAsync(realClock: true, recordDisconnect: false);
        var compat = Repository.PathOf("tests", "compat");
        Assert.True(Directory.Exists(Path.Combine(compat, "node_modules")), "tests/compat/node_modules is missing: run ./test.sh, which installs it with npm ci");

        var (exitCode, report) = await NodeProcess.RunTestsAsync(compat, new Dictionary<string, string>
        {
            ["GATEWAY_CLIENT_URL"] = host.ClientUri().ToString(),
            ["GATEWAY_MANAGEMENT_URL"] = $"http://127.0.0.1:{host.ManagementEndPoint.Port}",
            ["GATEWAY_STAGE"] = "prod",
        });
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# fail 0", report, StringComparison.Ordinal);
        Assert.DoesNotContain("# pass 0\n", report, StringComparison.Ordinal);
    }
}
