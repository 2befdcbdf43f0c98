using System.Diagnostics;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>
/// permessage-deflate with clients nobody here wrote: ws with perMessageDeflate and Chromium (tests/compat), and Python's
/// websockets (Debian's python3-websockets, installed by ./test.sh). Each negotiates it and has a large message echoed;
/// the gateway's own count shows it compressed them.
/// </summary>
[Collection(SerialProcesses.Name)]
public class CompressionClientTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Ws_Chromium_and_Python_websockets_negotiate_compression_and_round_trip_a_large_message()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:Compression"] = "On" }, realClock: true, recordDisconnect: false);
        using var compressed = new MeterCount(host, "gateway.compression.messages");
        var url = host.ClientUri().ToString();

        var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string> { ["GATEWAY_CLIENT_URL"] = url }, "compression.e2e.mjs");
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 2", report, StringComparison.Ordinal);
        Assert.Equal(2, compressed.Total);

        // Debian's interpreter, which the Debian package is installed for (another python3 may come first on the PATH).
        var python = new ProcessStartInfo("/usr/bin/python3", [Repository.PathOf("tests", "compat", "python", "compression.py"), url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(python)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
        var said = await stdout + await stderr;
        output.WriteLine(said);
        Assert.True(process.ExitCode == 0, said);
        Assert.StartsWith("ok: permessage-deflate", said, StringComparison.Ordinal);
        Assert.Equal(3, compressed.Total);
    }
}
