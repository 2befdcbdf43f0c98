using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace Gateway.Tests.Compatibility;

/// <summary>
/// The shell commands that README.md and samples/*/README.md show, run as written (by bash, from the folder the text
/// says, on the ports it names), so that a doc and the code cannot drift apart. Every <c>sh</c> block of those files
/// must be known here: one that is not fails the test until it is run or listed below as one that cannot run here.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed partial class ReadmeCommandTests(ITestOutputHelper output)
{
    /// <summary>The id the README's examples use; replaced by a live connection's id when a block is run.</summary>
    private const string DocumentedId = "k3Jt8aQxAAAAAZ9vY2Lw";

    // The blocks that cannot run here, and why; each is at least checked as far as it can be (see the test below).
    private static readonly Dictionary<string, string> NotRunHere = new(StringComparer.Ordinal)
    {
        // The suite itself: running it from inside it would recurse. .ci/run calls it, and CI runs that.
        ["./test.sh"] = "the test suite itself",

        // Needs a container engine, which this machine does not have. The same topology runs as processes in
        // ScaleOut/TopologyTests, and the image's publish step and environment in ScaleOut/ContainerImageTests.
        ["GATEWAY_SECRET_ACCESS_KEY=change-me GATEWAY_SESSION_KEY=$(openssl rand -base64 32) GATEWAY_LINK_SECRET=$(openssl rand -base64 24) docker compose -f docker/docker-compose.yml --profile redis up --build"] = "needs a container engine",
    };

    // Blocks another test runs: the packages the hosting section adds are packed, referenced by these ids from a new
    // web app and used by the section's Program.cs in Hosting/PackageTests.
    private static readonly Dictionary<string, string> RunElsewhere = new(StringComparer.Ordinal)
    {
        ["dotnet add package WebSocketApiGateway.AspNetCore"] = "Hosting/PackageTests",
    };

    [Fact]
    public async Task The_commands_the_readmes_show_work_as_written()
    {
        var blocks = Blocks().ToList();
        var known = new[]
        {
            "dotnet run --project src/Gateway.Server -c Release",
            "dotnet run --project src/Gateway.Server -c Release &",
            "GATEWAY_SETTINGS=samples/chat/gateway.json dotnet run --project src/Gateway.Server -c Release",
            "curl -X POST --data 'hello' http://127.0.0.1:8081/@connections/" + DocumentedId,
        }.Concat(NotRunHere.Keys).Concat(RunElsewhere.Keys).ToHashSet(StringComparer.Ordinal);
        var unknown = blocks.Where(b => !known.Contains(b.Lines[0])).Select(b => $"{b.File}: {b.Lines[0]}").ToList();
        Assert.True(unknown.Count == 0, "sh blocks this test neither runs nor lists as not runnable here:\n" + string.Join('\n', unknown));

        foreach (var port in (int[])[8080, 8081, 3000])
        {
            Assert.True(IsFree(port), $"the README's commands use port {port}, which another process holds");
        }

        // `dotnet run -c Release` builds what the publish step builds: one Release build for both.
        await PublishedServer.FolderAsync();

        var twoCommands = Single(blocks, "README.md", "dotnet run --project src/Gateway.Server -c Release");
        var quickStart = Single(blocks, "README.md", "dotnet run --project src/Gateway.Server -c Release &");
        var management = Single(blocks, "README.md", "curl -X POST --data 'hello' http://127.0.0.1:8081/@connections/" + DocumentedId);
        Assert.Equal(twoCommands.Lines[0] + " &", quickStart.Lines[0]);
        await QuickStartAsync(quickStart, management);

        var chat = blocks.Where(b => b.Lines[0].StartsWith("GATEWAY_SETTINGS=samples/chat/", StringComparison.Ordinal)).ToList();
        Assert.Equal(["README.md", "samples/chat/README.md"], chat.Select(b => b.File).Order(StringComparer.Ordinal));
        Assert.Equal(chat[0].Lines, chat[1].Lines);
        await ChatSampleAsync(chat[0]);
    }

    /// <summary>
    /// The quick start: the server in the background from the repository root, then <c>npx wscat</c> typing the
    /// transcript's <c>&gt;</c> lines and reading its <c>&lt;</c> lines; the log lines the README says the server writes;
    /// and the management API's curl examples against a live connection.
    /// </summary>
    private async Task QuickStartAsync(Block quickStart, Block management)
    {
        var serverLine = quickStart.Lines[0];
        Assert.EndsWith(" &", serverLine, StringComparison.Ordinal);
        await using var server = ShellCommand.Start(serverLine[..^2], Repository.Root);
        try
        {
            // "At start the server logs where to connect": the README's plain block, line for line (the time aside).
            var logBlock = ReadmeText().Split("At start the server logs where to connect:", 2)[1];
            foreach (var logged in LogLine().Matches(logBlock[..logBlock.IndexOf("\n## ", StringComparison.Ordinal)]).Select(m => m.Groups[1].Value))
            {
                await server.WaitForLineAsync(l => l.EndsWith(logged, StringComparison.Ordinal), $"the server logged '{logged}'");
            }

            var wscatLine = quickStart.Lines[1];
            Assert.StartsWith("npx wscat -c ws://localhost:8080/", wscatLine, StringComparison.Ordinal);
            // A terminal's user answers npx's "Ok to proceed?" with y; npm_config_yes says so here. Without a terminal,
            // wscat prints each message it receives as it is, after its "> " prompt.
            await using (var wscat = ShellCommand.Start(wscatLine, Repository.Root, new Dictionary<string, string> { ["npm_config_yes"] = "true" }))
            {
                var received = 0;
                foreach (var line in quickStart.Lines.Skip(2))
                {
                    if (line.StartsWith("> ", StringComparison.Ordinal))
                    {
                        await wscat.TypeAsync(line[2..]);
                        continue;
                    }

                    Assert.StartsWith("< ", line, StringComparison.Ordinal);
                    var expected = "^" + Regex.Escape(line[2..]).Replace(DocumentedId, "[A-Za-z0-9_-]{20}", StringComparison.Ordinal) + "$";
                    var index = received++;
                    await Wait.UntilAsync(() => wscat.StandardOutput.Count > index || wscat.HasExited, $"wscat printed '{line}'", TimeSpan.FromSeconds(90));
                    Assert.True(wscat.StandardOutput.Count > index, wscat.Output);
                    Assert.Matches(expected, Prompt().Replace(wscat.StandardOutput.ElementAt(index), ""));
                }
            }

            await ManagementExamplesAsync(management);
        }
        finally
        {
            output.WriteLine(server.Output);
        }
    }

    /// <summary>The curl lines, with the README's example id replaced by a live connection's; the answers as the comments show them.</summary>
    private static async Task ManagementExamplesAsync(Block block)
    {
        await using var client = await TestClient.ConnectAsync(new Uri("ws://127.0.0.1:8080/"));
        var lines = block.Lines.Where(l => !l.StartsWith('#')).ToList();
        Assert.Equal(4, lines.Count);

        var post = await RunAsync(lines[0].Replace(DocumentedId, client.Id, StringComparison.Ordinal));
        Assert.Equal("", post);
        Assert.Equal("hello", await client.ReceiveTextAsync());

        // GET: the keys the README's comment shows, in its order.
        var described = await RunAsync(lines[1].Replace(DocumentedId, client.Id, StringComparison.Ordinal));
        var documented = block.Lines[block.Lines.IndexOf(lines[1]) + 1];
        Assert.StartsWith("# {", documented, StringComparison.Ordinal);
        using (var shown = JsonDocument.Parse(documented[2..]))
        using (var actual = JsonDocument.Parse(described))
        {
            Assert.Equal(Keys(shown.RootElement), Keys(actual.RootElement));
            Assert.Equal(Keys(shown.RootElement.GetProperty("identity")), Keys(actual.RootElement.GetProperty("identity")));
        }

        // The list first (the DELETE closes the connection): its comment's keys.
        var list = await RunAsync(lines[3]);
        using (var page = JsonDocument.Parse(list))
        {
            Assert.Equal(["count", "items", "nextCursor", "complete"], Keys(page.RootElement));
            Assert.Contains(page.RootElement.GetProperty("items").EnumerateArray(), i => i.GetProperty("connectionId").GetString() == client.Id);
        }

        Assert.Equal("", await RunAsync(lines[2].Replace(DocumentedId, client.Id, StringComparison.Ordinal)));
        Assert.Contains("# 204; the client is closed with 1000", lines[2], StringComparison.Ordinal);
        Assert.Equal(1000, (await client.Closed.WithTimeout()).CloseStatus);
    }

    /// <summary>The chat sample's two commands from the repository root, then a message typed in one browser page appearing in another.</summary>
    private async Task ChatSampleAsync(Block block)
    {
        Assert.Equal(2, block.Lines.Count);
        await using var gateway = ShellCommand.Start(block.Lines[0], Repository.Root);
        await using var sample = ShellCommand.Start(block.Lines[1], Repository.Root);
        try
        {
            await gateway.WaitForLineAsync(l => l.Contains("Clients connect at ws://localhost:8080/", StringComparison.Ordinal), "the gateway started");
            await sample.WaitForLineAsync(l => l.Contains("chat backend on http://localhost:3000", StringComparison.Ordinal), "the chat backend started");

            // "Then open http://localhost:3000 in two windows."
            Assert.Contains("open http://localhost:3000 in two", ReadmeText(), StringComparison.Ordinal);
            var (exitCode, report) = await NodeProcess.RunTestsAsync(Repository.PathOf("tests", "compat"), new Dictionary<string, string>
            {
                ["CHAT_SAMPLE_URL"] = "http://localhost:3000/",
            }, "chat-browser.e2e.mjs");
            output.WriteLine(report);
            Assert.True(exitCode == 0, report);
            Assert.Contains("# pass 1", report, StringComparison.Ordinal);
        }
        finally
        {
            output.WriteLine(gateway.Output);
            output.WriteLine(sample.Output);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void The_blocks_that_cannot_run_here_are_still_checked()
    {
        var blocks = Blocks().ToList();
        foreach (var first in NotRunHere.Keys)
        {
            Assert.Contains(blocks, b => b.Lines[0] == first);
        }

        // ./test.sh: the README's test command is the script CI runs.
        Assert.True(File.Exists(Repository.PathOf("test.sh")));
        Assert.True((File.GetUnixFileMode(Repository.PathOf("test.sh")) & UnixFileMode.UserExecute) != 0, "test.sh is executable");
        Assert.Contains("./test.sh", File.ReadAllText(Repository.PathOf(".ci", "run")), StringComparison.Ordinal);

        // docker compose: the file parses as YAML, builds from the Dockerfile, and asks for the variable the command sets.
        // Two variants, one profile each (the README shows both commands): Redis or NATS, the rest shared.
        var block = Assert.Single(blocks, b => b.Lines[0].Contains("docker compose", StringComparison.Ordinal));
        Assert.Equal(
            ["GATEWAY_SECRET_ACCESS_KEY=change-me GATEWAY_SESSION_KEY=$(openssl rand -base64 32) GATEWAY_LINK_SECRET=$(openssl rand -base64 24) docker compose -f docker/docker-compose.yml --profile redis up --build",
             "GATEWAY_SECRET_ACCESS_KEY=change-me GATEWAY_SESSION_KEY=$(openssl rand -base64 32) GATEWAY_LINK_SECRET=$(openssl rand -base64 24) docker compose -f docker/docker-compose.yml --profile nats up --build"],
            block.Lines.Where(l => !l.StartsWith('#')));
        var compose = new YamlStream();
        using (var reader = new StreamReader(Repository.PathOf("docker", "docker-compose.yml")))
        {
            compose.Load(reader);
        }

        var root = (YamlMappingNode)compose.Documents[0].RootNode;
        var services = (YamlMappingNode)root["services"];
        Assert.Equal(["chat", "gateway", "gateway-nats", "haproxy", "nats", "redis"], services.Children.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        string[] Profile(string profile) =>
            [.. services.Children.Where(s => ((YamlSequenceNode)((YamlMappingNode)s.Value)["profiles"]).Children.Select(p => p.ToString()).Contains(profile)).Select(s => s.Key.ToString()).Order(StringComparer.Ordinal)];
        Assert.Equal(["chat", "gateway", "haproxy", "redis"], Profile("redis"));
        Assert.Equal(["chat", "gateway-nats", "haproxy", "nats"], Profile("nats"));

        // The NATS replicas are the Redis ones but for the engine, and answer to the name haproxy.cfg resolves.
        var onRedis = (YamlMappingNode)services["gateway"];
        var onNats = (YamlMappingNode)services["gateway-nats"];
        foreach (var key in (string[])["build", "deploy", "ulimits"])
        {
            Assert.Equal(Yaml(onRedis[key]), Yaml(onNats[key]));
        }

        var redisEnvironment = ((YamlMappingNode)onRedis["environment"]).Children.ToDictionary(e => e.Key.ToString(), e => e.Value.ToString());
        var natsEnvironment = ((YamlMappingNode)onNats["environment"]).Children.ToDictionary(e => e.Key.ToString(), e => e.Value.ToString());
        Assert.Equal("redis:6379", redisEnvironment["Gateway__Redis__Configuration"]);
        Assert.Equal("nats://nats:4222", natsEnvironment["Gateway__Nats__Url"]);
        Assert.Equal(redisEnvironment.Where(e => e.Key != "Gateway__Redis__Configuration"), natsEnvironment.Where(e => e.Key != "Gateway__Nats__Url"));
        Assert.Contains("gateway", ((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)onNats["networks"])["default"])["aliases"]).Children.Select(a => a.ToString()));
        Assert.Contains("server-template gw 3 gateway:8080", File.ReadAllText(Repository.PathOf("docker", "haproxy.cfg")), StringComparison.Ordinal);
        Assert.Contains("-js", ((YamlSequenceNode)((YamlMappingNode)services["nats"])["command"]).Children.Select(c => c.ToString()));

        var build = (YamlMappingNode)onRedis["build"];
        var context = Path.GetFullPath(Path.Combine(Repository.PathOf("docker"), build["context"].ToString()));
        Assert.Equal(Repository.Root.TrimEnd('/'), context.TrimEnd('/'));
        Assert.True(File.Exists(Path.Combine(context, build["dockerfile"].ToString())));
        Assert.Contains("${GATEWAY_SECRET_ACCESS_KEY:?", File.ReadAllText(Repository.PathOf("docker", "docker-compose.yml")), StringComparison.Ordinal);
        Assert.Contains("${GATEWAY_SESSION_KEY:?", redisEnvironment["Gateway__Connections__ResumeSigningKeys__0"], StringComparison.Ordinal);
        Assert.Contains("${GATEWAY_LINK_SECRET:?", redisEnvironment["Gateway__Cluster__Link__Secret"], StringComparison.Ordinal);
        var named = root.Children.TryGetValue("volumes", out var declared) ? ((YamlMappingNode)declared).Children.Keys.Select(k => k.ToString()).ToHashSet(StringComparer.Ordinal) : [];
        foreach (var volume in services.Children.Values.OfType<YamlMappingNode>().Where(s => s.Children.ContainsKey("volumes")).SelectMany(s => (YamlSequenceNode)s["volumes"]))
        {
            // A path is mounted from the repository; any other name is a volume the file declares.
            var source = volume.ToString().Split(':')[0];
            Assert.True(
                source.StartsWith('.') || source.StartsWith('/') ? Path.Exists(Path.Combine(Repository.PathOf("docker"), source)) : named.Contains(source),
                $"the compose file mounts {source}, which exists");
        }

        // The Dockerfile: every COPY source (but the build stage's output) exists in the build context.
        foreach (Match copy in CopyInstruction().Matches(File.ReadAllText(Repository.PathOf("docker", "Dockerfile"))))
        {
            if (copy.Groups["from"].Success)
            {
                continue;
            }

            var sources = copy.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1];
            Assert.NotEmpty(sources);
            foreach (var source in sources)
            {
                Assert.True(Path.Exists(Path.Combine(context, source)), $"the Dockerfile copies {source}, which exists");
            }
        }
    }

    private sealed record Block(string File, List<string> Lines);

    /// <summary>A YAML node written out, to compare two nodes by their content.</summary>
    private static string Yaml(YamlNode node)
    {
        var stream = new YamlStream(new YamlDocument(node));
        using var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>The <c>sh</c> blocks of README.md and samples/*/README.md, blank lines left out.</summary>
    private static IEnumerable<Block> Blocks()
    {
        var files = Enumerable.Repeat("README.md", 1).Concat(Directory.GetDirectories(Repository.PathOf("samples"))
            .Select(d => Path.GetRelativePath(Repository.Root, Path.Combine(d, "README.md"))).Where(f => File.Exists(Repository.PathOf(f))));
        foreach (var file in files)
        {
            foreach (Match block in ShellBlock().Matches(File.ReadAllText(Repository.PathOf(file))))
            {
                yield return new Block(file.Replace('\\', '/'), block.Groups[1].Value.Split('\n').Where(l => l.Trim().Length > 0).ToList());
            }
        }
    }

    private static Block Single(List<Block> blocks, string file, string first) => Assert.Single(blocks, b => b.File == file && b.Lines[0] == first);

    private static string ReadmeText() => File.ReadAllText(Repository.PathOf("README.md"));

    private static List<string> Keys(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToList();

    /// <summary>Runs one command line from the repository root to its end; returns its standard output.</summary>
    private static async Task<string> RunAsync(string commandLine)
    {
        await using var command = ShellCommand.Start(commandLine, Repository.Root);
        Assert.Equal(0, await command.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        return string.Join('\n', command.StandardOutput);
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^(> )+")]
    private static partial Regex Prompt();

    [GeneratedRegex(@"^```sh\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"^\[\d\d:\d\d:\d\d INF\] (.+)$", RegexOptions.Multiline)]
    private static partial Regex LogLine();

    [GeneratedRegex(@"^COPY (?<from>--from=\S+ )?(?<args>.+)$", RegexOptions.Multiline)]
    private static partial Regex CopyInstruction();
}
