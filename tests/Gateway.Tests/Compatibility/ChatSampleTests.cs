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
        var port = NodeProcess.FreePort();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Routes:$connect:Integration:Type"] = "http",
            ["Gateway:Routes:$connect:Integration:Uri"] = $"http://127.0.0.1:{port}/connect",
            ["Gateway:Routes:$disconnect:Integration:Type"] = "http",
            ["Gateway:Routes:$disconnect:Integration:Uri"] = $"http://127.0.0.1:{port}/disconnect",
            ["Gateway:Routes:sendmessage:Integration:Type"] = "http",
            ["Gateway:Routes:sendmessage:Integration:Uri"] = $"http://127.0.0.1:{port}/sendmessage",
        }, realClock: true, recordDisconnect: false);

        var backend = await NodeProcess.StartServerAsync(Repository.PathOf("samples", "chat"), "server.mjs", new Dictionary<string, string>
        {
            ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GATEWAY_WS_URL"] = host.ClientUri().ToString(),
        }, "chat backend on");
        try
        {
            var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
            {
                ["CHAT_SAMPLE_URL"] = $"http://127.0.0.1:{port}/",
            }, "chat-browser.e2e.mjs");
            output.WriteLine(report);
            Assert.True(exitCode == 0, report);
            Assert.Contains("# pass 1", report, StringComparison.Ordinal);
        }
        finally
        {
            await NodeProcess.StopAsync(backend);
        }
    }
}
