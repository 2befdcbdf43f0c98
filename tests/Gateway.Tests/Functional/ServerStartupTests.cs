using System.Net;
using System.Text.Json.Nodes;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>
/// What a new user meets when starting the server: the published build started from another folder, settings
/// files named as the user typed them, configuration mistakes, and <c>--help</c>.
/// </summary>
[Collection(SerialProcesses.Name)]
public class ServerStartupTests
{
    private const int Nobody = 65534;

    [Fact]
    public async Task Started_from_another_folder_the_published_server_reads_its_own_settings_and_keeps_framework_logs_quiet()
    {
        var app = await PublishedServer.CopyAsync();
        var elsewhere = Directory.CreateTempSubdirectory("gateway-cwd-");
        try
        {
            // The published appsettings.json, with a stage only it names: the server must find it from any folder.
            var settingsPath = Path.Combine(app.FullName, "appsettings.json");
            var settings = JsonNode.Parse(await File.ReadAllTextAsync(settingsPath))!;
            settings["Gateway"]!["Stage"] = "fromitsfolder";
            await File.WriteAllTextAsync(settingsPath, settings.ToJsonString());

            var lines = await RunAndPushAsync(app.FullName, elsewhere.FullName, "fromitsfolder");
            Assert.Contains(lines, l => l.Contains("Microsoft.Hosting.Lifetime", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains(" INF] Microsoft.AspNetCore", StringComparison.Ordinal));

            // With no settings file at all, the framework's per-request Information events stay off all the same.
            File.Delete(settingsPath);
            lines = await RunAndPushAsync(app.FullName, elsewhere.FullName, "prod");
            Assert.Contains(lines, l => l.Contains("Microsoft.Hosting.Lifetime", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains(" INF] Microsoft.AspNetCore", StringComparison.Ordinal));
        }
        finally
        {
            app.Delete(recursive: true);
            elsewhere.Delete(recursive: true);
        }
    }

    /// <summary>Starts the server, connects to <paramref name="stage"/>, pushes to the client three times, stops; returns the log.</summary>
    private static async Task<IReadOnlyCollection<string>> RunAndPushAsync(string folder, string workingDirectory, string stage)
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>(), serverFolder: folder, workingDirectory: workingDirectory);
        var (client, management) = await server.WaitForListenersAsync();
        await using var c = await TestClient.ConnectAsync(new Uri(client, stage));
        using var http = new HttpClient();
        for (var i = 0; i < 3; i++)
        {
            var push = await http.PostAsync(new Uri(management, $"@connections/{c.Id}"), new StringContent($"push {i}")).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, push.StatusCode);
            Assert.Equal($"push {i}", await c.ReceiveTextAsync());
        }

        Assert.Equal(0, await server.StopAsync());
        return server.Lines;
    }

    [Fact]
    public async Task Values_of_the_wrong_type_are_listed_with_every_other_error_and_no_stack_trace()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Routes___default__Handler"] = "nonesuch",
            ["Gateway__Redis__Configuration"] = "127.0.0.1:1",
            ["Gateway__Redis__NodeTtl"] = "soon",
        }, arguments: ["--Gateway:Connections:IdleTimeout=banana", "--Gateway:Connections:SendConnectedMessage=maybe", "--Gateway:Connections:MaxMessageBytes=0"]);
        Assert.Equal(78, await server.WaitForExitAsync());
        var output = string.Join('\n', server.Lines);
        Assert.Contains("the configuration has 5 problems", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Connections:IdleTimeout: 'banana' is not a time span: write hh:mm:ss, for example 00:10:00", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Connections:SendConnectedMessage: 'maybe' is not true or false", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Redis:NodeTtl: 'soon' is not a time span", output, StringComparison.Ordinal);
        Assert.Contains("MaxMessageBytes 0", output, StringComparison.Ordinal);
        Assert.Contains("'nonesuch'", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Fact]
    public async Task History_patterns_that_overlap_are_a_configuration_problem()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Topics__History__0__Pattern"] = "events.>",
            ["Gateway__Topics__History__1__Pattern"] = "events.*",
        });
        Assert.Equal(78, await server.WaitForExitAsync());
        var output = string.Join('\n', server.Lines);
        Assert.Contains("the configuration has 1 problem", output, StringComparison.Ordinal);
        Assert.Contains("  - Gateway:Topics:History: patterns may not overlap, and these do (a topic would match both): entries 0 'events.>' and 1 'events.*'.", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Fact]
    public async Task A_cluster_link_without_a_secret_is_a_configuration_problem()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Cluster__Link__Listen"] = "127.0.0.1:0",
        });
        Assert.Equal(78, await server.WaitForExitAsync());
        var output = string.Join('\n', server.Lines);
        Assert.Contains("the configuration has 1 problem", output, StringComparison.Ordinal);
        Assert.Contains("  - Gateway:Cluster:Link:Secret is required when Gateway:Cluster:Link:Listen is set", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_missing_malformed_or_unreadable_settings_file_is_named_in_one_line()
    {
        var folder = Directory.CreateTempSubdirectory("gateway-settings-");
        try
        {
            // Missing: named as the user typed it, with where it was looked for.
            var missing = await StartFailingAsync(new() { ["GATEWAY_SETTINGS"] = "samples/nowhere/gateway.json", ["PWD"] = folder.FullName }, folder.FullName);
            Assert.Equal($"Gateway did not start: GATEWAY_SETTINGS: the settings file 'samples/nowhere/gateway.json' does not exist (looked for {Path.Combine(folder.FullName, "samples/nowhere/gateway.json")}).", missing);

            // Not JSON: the file, and the reader's line and position.
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "broken.json"), "{ \"Gateway\": { \"Stage\": }");
            var broken = await StartFailingAsync(new() { ["GATEWAY_SETTINGS"] = "broken.json" }, folder.FullName);
            Assert.StartsWith($"Gateway did not start: GATEWAY_SETTINGS: the settings file '{Path.Combine(folder.FullName, "broken.json")}' is not a valid JSON settings file: ", broken, StringComparison.Ordinal);
            Assert.Contains("LineNumber: 0", broken, StringComparison.Ordinal);

            // Unreadable by the user the server runs as.
            var secret = Path.Combine(folder.FullName, "secret.json");
            await File.WriteAllTextAsync(secret, "{}");
            File.SetUnixFileMode(secret, UnixFileMode.None);
            File.SetUnixFileMode(folder.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            var published = await PublishedServer.FolderAsync();
            var unreadable = await StartFailingAsync(new() { ["GATEWAY_SETTINGS"] = secret, ["HOME"] = folder.FullName }, folder.FullName, published, Nobody);
            Assert.Equal($"Gateway did not start: GATEWAY_SETTINGS: the settings file '{secret}' cannot be read (permission denied).", unreadable);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_port_in_use_is_named_in_one_line()
    {
        using var holder = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var line = await StartFailingAsync(new() { ["Gateway__Listeners__Client"] = $"http://127.0.0.1:{port}" }, AppContext.BaseDirectory);
        Assert.Equal($"Gateway did not start: Failed to bind to address http://127.0.0.1:{port}: address already in use. Set Gateway:Listeners:Client, Gateway:Listeners:Management or Gateway:Listeners:ClientHttp2 to another address.", line);
    }

    [Fact]
    public async Task Redis_and_NATS_both_configured_is_named_in_one_line()
    {
        var line = await StartFailingAsync(new() { ["Gateway__Redis__Configuration"] = "127.0.0.1:1", ["Gateway__Nats__Url"] = "nats://127.0.0.1:1" }, AppContext.BaseDirectory);
        Assert.Equal("Gateway did not start: both Gateway:Redis:Configuration and Gateway:Nats:Url are set. The nodes of one gateway share one engine: remove one of them.", line);
    }

    [Fact]
    public async Task Invalid_NATS_options_are_listed_with_their_keys()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Nats__Url"] = "http://127.0.0.1:1",
            ["Gateway__Nats__SubjectPrefix"] = "gw.prod",
            ["Gateway__Nats__EventSubjects__0"] = "events.>",
            ["Gateway__Nats__EventSubjects__1"] = "events.org_1.*",
            ["Gateway__Nats__JetStream__Replicas"] = "7",
        });
        Assert.Equal(78, await server.WaitForExitAsync());
        var output = string.Join('\n', server.Lines);
        Assert.Contains("the configuration has 4 problems", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Nats:Url: 'http://127.0.0.1:1' is not a NATS URL", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Nats:SubjectPrefix: 'gw.prod' must be one subject token", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Nats:EventSubjects:0 'events.>' and :1 'events.org_1.*' overlap", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Nats:JetStream:Replicas: 7 must be from 1 to 5", output, StringComparison.Ordinal);
        AssertNoStackTrace(output);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_the_usage_and_exits_without_starting(string flag)
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string>(), arguments: [flag]);
        Assert.Equal(0, await server.WaitForExitAsync());
        var output = string.Join('\n', server.Lines);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Listeners:Client        default http://0.0.0.0:8080", output, StringComparison.Ordinal);
        Assert.Contains("Gateway:Listeners:Management    default http://127.0.0.1:8081", output, StringComparison.Ordinal);
        Assert.Contains("GATEWAY_SETTINGS", output, StringComparison.Ordinal);
        Assert.Contains("docs/configuration.md", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", output, StringComparison.Ordinal);
    }

    /// <summary>Starts a server that must refuse to start; returns its output, which must be exactly one line.</summary>
    private static async Task<string> StartFailingAsync(Dictionary<string, string> environment, string workingDirectory, string? folder = null, int? user = null)
    {
        await using var server = ServerProcess.Start(environment, serverFolder: folder, workingDirectory: workingDirectory, user: user);
        Assert.Equal(78, await server.WaitForExitAsync());
        var lines = server.Lines.Where(l => l.Length > 0).ToList();
        AssertNoStackTrace(string.Join('\n', lines));
        return Assert.Single(lines);
    }

    private static void AssertNoStackTrace(string output)
    {
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
    }
}
