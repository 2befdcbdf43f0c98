using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>Chromium opens its WebSockets to the gateway over HTTP/2 (RFC 8441) once it has an h2 connection to the origin.</summary>
[Collection(SerialProcesses.Name)]
public partial class Http2BrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Chromium_opens_websockets_as_http2_streams_over_tls()
    {
        using var certificates = TestCertificates.Create();
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Listeners:Client"] = "https://127.0.0.1:0",
            ["Kestrel:Certificates:Default:Path"] = certificates.CertificatePath,
            ["Kestrel:Certificates:Default:KeyPath"] = certificates.KeyPath,
            ["Gateway:Routes:$default:Handler"] = "echo",
        }, g => g.MapRoute<ProtocolRecorder>("$connect"), realClock: true);

        // Chromium trusts the server's key by the SHA-256 of its SubjectPublicKeyInfo, base64: no CA to install.
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificates.CertificatePath));
        var spki = Convert.ToBase64String(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
        var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
        {
            ["GATEWAY_ORIGIN"] = $"https://127.0.0.1:{host.ClientEndPoint.Port}",
            ["GATEWAY_SPKI"] = spki,
        }, "http2-websocket.e2e.mjs");
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 1", report, StringComparison.Ordinal);

        // On the server: both handshakes were extended CONNECT streams.
        var ids = IdsLine().Match(report).Groups[1].Value.Split(',');
        var seen = host.Services.GetRequiredService<ProtocolRecorder>().Seen;
        Assert.Equal(2, ids.Length);
        Assert.All(ids, id => Assert.Equal("HTTP/2", seen.GetValueOrDefault(id)));
        Assert.Equal(1000, (await host.Events.DisconnectOf(ids[0])).StatusCode);
    }

    [GeneratedRegex("CONNECTION_IDS=([A-Za-z0-9_,-]+)")]
    private static partial Regex IdsLine();

    /// <summary>Records the HTTP protocol of each handshake, by connection id.</summary>
    public sealed class ProtocolRecorder : IGatewayRouteHandler
    {
        public ConcurrentDictionary<string, string> Seen { get; } = new();

        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            Seen[context.ConnectionId] = context.Connection.Handshake.Protocol;
            return ValueTask.FromResult(RouteResult.Ok);
        }
    }
}
