using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Compatibility;

/// <summary>
/// A handler written for AWS Lambda calls back with <c>endpoint: domainName + '/' + stage</c>, which the SDKs take as
/// HTTPS: the management listener serves TLS with a configured certificate, and Node trusts its CA.
/// </summary>
[Collection(SerialProcesses.Name)]
public class LambdaIdiomTests
{
    [Fact]
    public async Task A_ported_Lambda_handler_reaches_the_gateway_through_domainName_and_stage_over_HTTPS()
    {
        using var certificates = TestCertificates.Create();
        var port = NodeProcess.FreePort();
        var backend = await NodeProcess.StartServerAsync(Repository.PathOf("tests", "compat"), "lambda-backend.mjs", new Dictionary<string, string>
        {
            ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["NODE_EXTRA_CA_CERTS"] = certificates.CaPath,
        }, "listening");
        try
        {
            await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
            {
                ["Gateway:Listeners:Management"] = "https://127.0.0.1:0",
                ["Kestrel:Certificates:Default:Path"] = certificates.CertificatePath,
                ["Kestrel:Certificates:Default:KeyPath"] = certificates.KeyPath,
                ["Gateway:Routes:$default:Integration:Type"] = "http",
                ["Gateway:Routes:$default:Integration:Uri"] = $"http://127.0.0.1:{port}/events",
            }, realClock: true);
            await using var client = await host.ConnectAsync();
            await client.SendTextAsync("sdk");
            var domain = $"localhost:{host.ManagementEndPoint.Port}";
            Assert.Equal($"v2 via {domain}", await client.ReceiveTextAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal($"v3 via {domain}", await client.ReceiveTextAsync(TimeSpan.FromSeconds(20)));
        }
        finally
        {
            await NodeProcess.StopAsync(backend);
        }
    }
}
