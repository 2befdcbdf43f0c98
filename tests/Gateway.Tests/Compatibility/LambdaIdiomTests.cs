using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>
/// A handler written for AWS Lambda calls back with <c>endpoint: domainName + '/' + stage</c>, which the SDKs take as
/// HTTPS: the management listener serves TLS with a configured certificate, and Node trusts its CA.
/// </summary>
[Collection(SerialProcesses.Name)]
public class LambdaIdiomTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_ported_Lambda_handler_reaches_the_gateway_through_domainName_and_stage_over_HTTPS()
    {
        using var certificates = TestCertificates.Create();
        var port = FreePort();
        var info = new ProcessStartInfo("node", ["lambda-backend.mjs"])
        {
            WorkingDirectory = Repository.PathOf("tests", "compat"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["NODE_EXTRA_CA_CERTS"] = certificates.CaPath;
        info.Environment["AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE"] = "1";
        using var backend = Process.Start(info)!;
        var stderr = backend.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal("listening", await backend.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
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
            backend.Kill();
            await backend.WaitForExitAsync();
            output.WriteLine(await stderr);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
