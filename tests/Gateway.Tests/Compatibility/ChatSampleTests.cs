using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>The chat sample end to end: two Chromium pages, the gateway, and the sample's Node backend using the AWS SDK.</summary>
[Collection(SerialProcesses.Name)]
public class ChatSampleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_message_typed_in_one_browser_page_appears_in_the_other()
    {
        var port = FreePort();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$connect:Integration:Type"] = "http",
            ["Gateway:Routes:$connect:Integration:Uri"] = $"http://127.0.0.1:{port}/connect",
            ["Gateway:Routes:$disconnect:Integration:Type"] = "http",
            ["Gateway:Routes:$disconnect:Integration:Uri"] = $"http://127.0.0.1:{port}/disconnect",
            ["Gateway:Routes:sendmessage:Integration:Type"] = "http",
            ["Gateway:Routes:sendmessage:Integration:Uri"] = $"http://127.0.0.1:{port}/sendmessage",
        }, realClock: true, recordDisconnect: false);

        var sample = new ProcessStartInfo("node", ["server.mjs"]) { WorkingDirectory = Repository.PathOf("samples", "chat"), RedirectStandardOutput = true, RedirectStandardError = true };
        sample.Environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        sample.Environment["GATEWAY_WS_URL"] = host.ClientUri().ToString();
        using var backend = Process.Start(sample)!;
        var backendErrors = backend.StandardError.ReadToEndAsync();
        try
        {
            Assert.StartsWith("chat backend on", await backend.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)), StringComparison.Ordinal);
            var browser = new ProcessStartInfo("node", ["--test", "--test-reporter=tap", "chat-browser.e2e.mjs"])
            {
                WorkingDirectory = Repository.PathOf("tests", "compat"),
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            browser.Environment["CHAT_SAMPLE_URL"] = $"http://127.0.0.1:{port}/";
            using var run = Process.Start(browser)!;
            var stdout = run.StandardOutput.ReadToEndAsync();
            var stderr = run.StandardError.ReadToEndAsync();
            await run.WaitForExitAsync().WithTimeout(TimeSpan.FromMinutes(2));
            var report = await stdout + await stderr;
            output.WriteLine(report);
            Assert.True(run.ExitCode == 0, report);
            Assert.Contains("# pass 1", report, StringComparison.Ordinal);
        }
        finally
        {
            backend.Kill();
            await backend.WaitForExitAsync();
            output.WriteLine(await backendErrors);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
