using Gateway.Tests.Auth;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary><c>$connect</c> signed with AWS Signature Version 4 by the real AWS signer, against the management credential store.</summary>
[Collection(SerialProcesses.Name)]
public class HandshakeSignatureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Handshakes_signed_by_the_AWS_signer_connect_and_bad_signatures_are_refused()
    {
        const string AccessKeyId = "AKIDHANDSHAKE01";
        const string Secret = "handshake/s3cr3t+with=odd";
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Management:Credentials:0:AccessKeyId"] = AccessKeyId,
            ["Gateway:Management:Credentials:0:SecretAccessKey"] = Secret,
            ["Gateway:Auth:SigV4:Enabled"] = "true",
        }, g => g.MapRoute<WhoAmI>("whoami"), realClock: true, recordDisconnect: false);

        var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
        {
            ["GATEWAY_CLIENT_URL"] = host.ClientUri().ToString(),
            ["GATEWAY_STAGE"] = "prod",
            ["GATEWAY_ACCESS_KEY_ID"] = AccessKeyId,
            ["GATEWAY_SECRET_ACCESS_KEY"] = Secret,
        }, "handshake-sigv4.e2e.mjs");
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 3", report, StringComparison.Ordinal);
    }
}
