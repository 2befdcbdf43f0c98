using System.Diagnostics;
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

        var info = new ProcessStartInfo("node", ["--test", "--test-reporter=tap"])
        {
            WorkingDirectory = compat,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["GATEWAY_CLIENT_URL"] = host.ClientUri().ToString();
        info.Environment["GATEWAY_MANAGEMENT_URL"] = $"http://127.0.0.1:{host.ManagementEndPoint.Port}";
        info.Environment["GATEWAY_STAGE"] = "prod";
        info.Environment["AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE"] = "1";
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WithTimeout(TimeSpan.FromMinutes(2));
        var report = await stdout + await stderr;
        output.WriteLine(report);

        Assert.True(node.ExitCode == 0, report);
        Assert.Contains("# fail 0", report, StringComparison.Ordinal);
        Assert.DoesNotContain("# pass 0\n", report, StringComparison.Ordinal);
    }
}
