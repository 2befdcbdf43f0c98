using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>Management credentials (access keys for AWS Signature Version 4, and API keys) against the real AWS SDK signers.</summary>
[Collection(SerialProcesses.Name)]
public class ManagementCredentialsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_AWS_SDKs_signing_with_configured_credentials_succeed_and_everything_else_is_forbidden()
    {
        const string AccessKeyId = "AKIDGATEWAYTEST01";
        const string Secret = "s3cr3t/with+odd=chars";
        const string ApiKey = "key-0123456789abcdef";
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Management:Credentials:0:AccessKeyId"] = AccessKeyId,
            ["Gateway:Management:Credentials:0:SecretAccessKey"] = Secret,
            ["Gateway:Management:ApiKeys:0"] = ApiKey,
        }, realClock: true, recordDisconnect: false);

        var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
        {
            ["GATEWAY_CLIENT_URL"] = host.ClientUri().ToString(),
            ["GATEWAY_MANAGEMENT_URL"] = $"http://127.0.0.1:{host.ManagementEndPoint.Port}",
            ["GATEWAY_STAGE"] = "prod",
            ["GATEWAY_ACCESS_KEY_ID"] = AccessKeyId,
            ["GATEWAY_SECRET_ACCESS_KEY"] = Secret,
            ["GATEWAY_API_KEY"] = ApiKey,
        }, "sigv4.e2e.mjs");
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 4", report, StringComparison.Ordinal);
    }
}
