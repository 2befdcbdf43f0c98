using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Compatibility;

/// <summary>
/// The JavaScript client (clients/js) against real gateways, driven by Node scripts in tests/compat (js-client*.mjs):
/// commands, topics and streams on one node; a stalled path; a resumed session; recovery across a restart on Redis; a
/// takeover and a killed node behind haproxy; the library in Chromium; the fallback to the event stream behind a proxy
/// that refuses WebSockets, and the chat sample in Chromium behind haproxy denying every upgrade.
/// </summary>
[Collection(SerialProcesses.Name)]
public sealed class JsClientTests(ITestOutputHelper output)
{
    private static readonly string Compat = Repository.PathOf("tests", "compat");

    [Theory]
    [InlineData("action")]
    [InlineData("type")]
    public async Task Subscribes_correlates_queues_recovers_refreshes_and_streams(string naming)
    {
        var backendPort = NodeProcess.FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
            ["Gateway:Topics:History:0:Size"] = "100",
            ["Gateway:Topics:Presence:0:Pattern"] = "room.*",
            ["Gateway:Topics:ClientPublish:0:Pattern"] = "chat.>",
            ["Gateway:Topics:ClientPublish:0:RatePerSecond"] = "100",
            ["Gateway:Routes:$default:Handler"] = "echo",
            ["Gateway:Routes:ask:Integration:Type"] = "http",
            ["Gateway:Routes:ask:Integration:Uri"] = $"http://127.0.0.1:{backendPort}/ask",
            ["Gateway:Routes:ask:Integration:Envelope"] = "Connector",
            ["Gateway:Routes:plain:Integration:Type"] = "http",
            ["Gateway:Routes:plain:Integration:Uri"] = $"http://127.0.0.1:{backendPort}/plain",
            ["Gateway:Routes:plain:Integration:Envelope"] = "Connector",
            ["Gateway:Routes:broken:Integration:Type"] = "http",
            ["Gateway:Routes:broken:Integration:Uri"] = $"http://127.0.0.1:{backendPort}/broken",
            ["Gateway:Routes:broken:Integration:Envelope"] = "Connector",
        };
        if (naming == "type")
        {
            settings["Gateway:RouteSelectionExpression"] = "$request.body.type";
        }

        await using var host = await GatewayHost.StartAsync(settings, realClock: true, recordDisconnect: false);
        await RunAgainstAsync(host, "js-client.e2e.mjs", "/prod", ("BACKEND_PORT", backendPort.ToString(CultureInfo.InvariantCulture)), ("CLIENT_NAMING", naming));
    }

    [Fact]
    public async Task Falls_back_to_the_event_stream_when_a_proxy_refuses_the_websocket_and_works_the_same()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
            ["Gateway:Routes:$default:Handler"] = "echo",
            ["Gateway:Connections:ResumeWindow"] = "00:00:30",
        }, realClock: true, recordDisconnect: false);
        await RunAgainstAsync(host, "js-client-sse.e2e.mjs", "/prod");
    }

    [Fact]
    public async Task The_chat_sample_works_in_Chromium_behind_a_proxy_that_refuses_websockets()
    {
        var samplePort = NodeProcess.FreePort();
        var sampleOrigin = $"http://127.0.0.1:{samplePort}";
        await using var gateway = ServerProcess.Start(new Dictionary<string, string>
        {
            ["Gateway__Routes___connect__Integration__Type"] = "http",
            ["Gateway__Routes___connect__Integration__Uri"] = $"{sampleOrigin}/connect",
            ["Gateway__Routes___disconnect__Integration__Type"] = "http",
            ["Gateway__Routes___disconnect__Integration__Uri"] = $"{sampleOrigin}/disconnect",
            ["Gateway__Routes__sendmessage__Integration__Type"] = "http",
            ["Gateway__Routes__sendmessage__Integration__Uri"] = $"{sampleOrigin}/sendmessage",
            ["Gateway__Sse__AllowedOrigins__0"] = sampleOrigin,
        });
        var node = await gateway.WaitForListenersAsync();

        // haproxy as a corporate proxy that breaks WebSockets: every upgrade is answered 403, plain HTTP passes.
        await using var haproxy = await HaproxyProcess.StartAsync([node], ["http-request deny deny_status 403 if { hdr(upgrade) -i websocket }"]);
        await using var sample = ShellCommand.Start("node server.mjs", Repository.PathOf("samples", "chat"), new Dictionary<string, string>
        {
            ["PORT"] = samplePort.ToString(CultureInfo.InvariantCulture),
            ["GATEWAY_WS_URL"] = $"ws://127.0.0.1:{haproxy.ClientPort}/",
        });
        await sample.WaitForLineAsync(l => l.Contains($"chat backend on http://localhost:{samplePort}", StringComparison.Ordinal), "the chat backend started");
        await using (var raw = await RawClient.OpenAsync(new IPEndPoint(IPAddress.Loopback, haproxy.ClientPort)))
        {
            await raw.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            Assert.Equal(403, (await raw.ReadResponseHeadAsync()).Status);
        }

        var (exitCode, report) = await NodeProcess.RunTestsAsync(Compat, new Dictionary<string, string>
        {
            ["CHAT_SAMPLE_URL"] = sampleOrigin + "/",
            ["EXPECT_SSE"] = "1",
        }, "chat-browser.e2e.mjs");
        output.WriteLine(report);
        output.WriteLine(sample.Output);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# pass 1", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_in_Chromium()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        }, realClock: true, recordDisconnect: false);
        await RunAgainstAsync(host, "js-client-browser.e2e.mjs");
    }

    [Fact]
    public async Task Notices_a_stalled_connection_by_its_heartbeat_and_recovers()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
        }, realClock: true, recordDisconnect: false);
        await RunAgainstAsync(host, "js-client-network.e2e.mjs");
    }

    [Fact]
    public async Task Resumes_its_session_after_a_cut_socket_with_every_event_once_in_order()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:ResumeWindow"] = "00:00:30",
            ["Gateway:Auth:Jwt:SigningKeys:0"] = TestTokens.Secret,
            ["Gateway:Auth:Jwt:Issuer"] = TestTokens.Issuer,
            ["Gateway:Auth:Jwt:Audience"] = TestTokens.Audience,
            ["Gateway:Topics:Authorization:AllowAll"] = "true",
            ["Gateway:Topics:History:0:Pattern"] = "events.>",
            ["Gateway:Routes:$default:Handler"] = "echo",
        }, realClock: true, recordDisconnect: false);
        await RunAgainstAsync(host, "js-client-resume.e2e.mjs", "/prod");
    }

    [Fact]
    public async Task Recovers_every_event_once_in_order_across_a_restart_of_its_node()
    {
        await using var redis = await RedisServer.StartAsync();
        var clientPort = NodeProcess.FreePort();
        var first = ServerProcess.Start(NodeEnvironment(redis, clientPort));
        ServerProcess? second = null;
        try
        {
            var (client, management) = await first.WaitForListenersAsync();
            await using var script = await ScriptProcess.StartAsync(Compat, "js-client-recovery.mjs", new Dictionary<string, string>
            {
                ["GATEWAY_CLIENT_URL"] = client.ToString(),
                ["TOPIC"] = "events.restart",
                ["EXPECT"] = "30",
            });
            await script.ExpectAsync("subscribed ");
            using var http = new HttpClient();
            await PublishAsync(http, management, "events.restart", 1, 10);

            // The node restarts on the same port (SIGTERM: it closes its clients with 1001). The events published while the
            // client is away are in the topic's history on Redis; the client may come back once they are.
            Assert.Equal(0, await first.StopAsync());
            await script.ExpectAsync("disconnected 1001 true 0");
            second = ServerProcess.Start(NodeEnvironment(redis, clientPort));
            var (_, management2) = await second.WaitForListenersAsync();
            await PublishAsync(http, management2, "events.restart", 11, 20);
            await script.SendAsync("go");
            await PublishAsync(http, management2, "events.restart", 21, 30);

            var done = await script.ExpectAsync("done ");
            Assert.StartsWith($"done [{string.Join(',', Enumerable.Range(1, 30))}] {{\"offset\":30,", done, StringComparison.Ordinal);
            Assert.Contains("recovered events.restart true", script.Lines);
        }
        finally
        {
            await first.DisposeAsync();
            if (second is not null)
            {
                await second.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Two nodes on Redis behind haproxy, resuming on: a cut socket resumes on the other node (which takes the session
    /// over); then that node is killed and the client, refused a resume, recovers by offset on the survivor. (Recovery
    /// without resuming, after a restart, is the test above; one run of this topology keeps the suite's time down.)
    /// </summary>
    [Fact]
    public async Task Behind_haproxy_resumes_on_the_other_node_after_a_cut_socket_and_recovers_there_when_its_node_is_killed()
    {
        await using var redis = await RedisServer.StartAsync();
        var processes = new[] { ServerProcess.Start(NodeEnvironment(redis, 0, resume: true)), ServerProcess.Start(NodeEnvironment(redis, 0, resume: true)) };
        try
        {
            var nodes = new List<(Uri Client, Uri Management)>();
            foreach (var process in processes)
            {
                nodes.Add(await process.WaitForListenersAsync());
            }

            await using var haproxy = await HaproxyProcess.StartAsync(nodes);
            await using var script = await ScriptProcess.StartAsync(Compat, "js-client-recovery.mjs", new Dictionary<string, string>
            {
                ["GATEWAY_CLIENT_URL"] = $"ws://127.0.0.1:{haproxy.ClientPort}/",
                ["TOPIC"] = "events.failover",
                ["EXPECT"] = "30",
                ["PROXY"] = "1",
            });
            var connectionId = (await script.ExpectAsync("subscribed "))["subscribed ".Length..];
            using var http = new HttpClient();
            var first = await HolderAsync(http, nodes, connectionId);
            await PublishAsync(http, nodes[0].Management, "events.failover", 1, 5);

            // The socket is cut between the client and haproxy; events are published meanwhile. The session goes on with
            // the same id on the node the next socket lands on.
            await script.SendAsync("drop");
            await script.ExpectAsync("disconnected 1006 true 0");
            await PublishAsync(http, nodes[1].Management, "events.failover", 6, 10);
            await script.SendAsync("go");
            Assert.Equal($"connected {connectionId} true", await script.ExpectAsync("connected "));

            // Round robin sent the new socket to the other node, which took the session over. It is killed.
            var holder = await HolderAsync(http, nodes, connectionId);
            Assert.NotEqual(first, holder);
            var survivor = nodes[1 - holder].Management;
            await PublishAsync(http, survivor, "events.failover", 11, 15);
            await processes[holder].KillAsync();

            // Not at once this time: the connection before did not stay up ReconnectOptions.stableAfter, so the backoff goes on.
            await script.ExpectAsync("disconnected 1006 true ");
            await PublishAsync(http, survivor, "events.failover", 16, 20);
            await script.SendAsync("go");
            await PublishAsync(http, survivor, "events.failover", 21, 30);

            var done = await script.ExpectAsync("done ");
            Assert.StartsWith($"done [{string.Join(',', Enumerable.Range(1, 30))}] {{\"offset\":30,", done, StringComparison.Ordinal);
            var lines = script.Lines.ToList();
            var killedAt = lines.FindLastIndex(l => l.StartsWith("disconnected 1006 true ", StringComparison.Ordinal));

            // After the kill the session is gone with its node: a resume is refused; the topic is recovered by offset.
            Assert.Contains(lines.Skip(killedAt), l => l.StartsWith("error resume_failed ", StringComparison.Ordinal));
            Assert.Contains("recovered events.failover true", lines.Skip(killedAt));
            var reconnected = lines.Last(l => l.StartsWith("connected ", StringComparison.Ordinal)).Split(' ')[1];
            Assert.NotEqual(connectionId, reconnected);
            Assert.Contains(lines, l => l.StartsWith($"resumed {connectionId} ", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>The node that lists the connection among its own.</summary>
    private static async Task<int> HolderAsync(HttpClient http, List<(Uri Client, Uri Management)> nodes, string connectionId)
    {
        var holder = -1;
        await Wait.UntilAsync(async () =>
        {
            for (var i = 0; i < nodes.Count; i++)
            {
                if ((await http.GetStringAsync(new Uri(nodes[i].Management, "@connections?scope=node"))).Contains(connectionId, StringComparison.Ordinal))
                {
                    holder = i;
                }
            }

            return holder != -1;
        }, "a node lists the client");
        return holder;
    }

    private static Dictionary<string, string> NodeEnvironment(RedisServer redis, int clientPort, bool resume = false)
    {
        var environment = new Dictionary<string, string>
        {
            ["Gateway__Redis__Configuration"] = redis.Configuration,
            ["Gateway__Redis__HeartbeatInterval"] = "00:00:01",
            ["Gateway__Redis__NodeTtl"] = "00:00:03",
            ["Gateway__Topics__History__0__Pattern"] = "events.>",
            ["Gateway__Topics__History__0__Size"] = "500",
        };
        if (resume)
        {
            environment["Gateway__Connections__ResumeWindow"] = "00:00:30";
            environment["Gateway__Connections__ResumeSigningKeys__0"] = "a-resume-signing-key-shared-by-every-node";
        }

        if (clientPort != 0)
        {
            environment["Gateway__Listeners__Client"] = $"http://127.0.0.1:{clientPort}";
        }

        return environment;
    }

    /// <summary>Publishes events <paramref name="from"/> to <paramref name="to"/> (data <c>{"n":…}</c>) in order, each once it is taken (a node just started may answer 503 until its backplane is up).</summary>
    private static async Task PublishAsync(HttpClient http, Uri management, string topic, int from, int to)
    {
        for (var n = from; n <= to; n++)
        {
            var body = $$$"""{"type":"tick","data":{"n":{{{n}}}}}""";
            await Wait.UntilAsync(
                async () => (await http.PostAsync(new Uri(management, "@topics/" + topic), new StringContent(body, Encoding.UTF8, "application/json"))).StatusCode == HttpStatusCode.OK,
                $"event {n} published",
                TimeSpan.FromSeconds(15));
        }
    }

    /// <summary>Runs <paramref name="script"/> against <paramref name="host"/>: its client URL (at <paramref name="path"/>) and management URL, and <paramref name="more"/>.</summary>
    private Task RunAgainstAsync(GatewayHost host, string script, string path = "/", params (string Name, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["GATEWAY_CLIENT_URL"] = host.ClientUri(path).ToString(),
            ["GATEWAY_MANAGEMENT_URL"] = $"http://127.0.0.1:{host.ManagementEndPoint.Port}",
        };
        foreach (var (name, value) in more)
        {
            environment[name] = value;
        }

        return RunAsync(script, environment);
    }

    private async Task RunAsync(string script, Dictionary<string, string> environment)
    {
        Assert.True(Directory.Exists(Path.Combine(Compat, "node_modules")), "tests/compat/node_modules is missing: run ./test.sh, which installs it with npm ci");
        environment["JWT_SECRET"] = TestTokens.Secret;
        environment["JWT_ISSUER"] = TestTokens.Issuer;
        environment["JWT_AUDIENCE"] = TestTokens.Audience;
        var (exitCode, report) = await NodeProcess.RunTestsAsync(Compat, environment, script);
        output.WriteLine(report);
        Assert.True(exitCode == 0, report);
        Assert.Contains("# fail 0", report, StringComparison.Ordinal);
        Assert.DoesNotContain("# pass 0\n", report, StringComparison.Ordinal);
    }

    /// <summary>A Node script that reports line by line on its output and reads commands from its input.</summary>
    private sealed class ScriptProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];

        private ScriptProcess(Process process) => _process = process;

        public IReadOnlyList<string> Lines => _lines;

        public static Task<ScriptProcess> StartAsync(string directory, string script, IDictionary<string, string> environment)
        {
            var info = new ProcessStartInfo("node", [script])
            {
                WorkingDirectory = directory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }

            var process = Process.Start(info)!;
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            return Task.FromResult(new ScriptProcess(process));
        }

        /// <summary>Reads lines until one starts with <paramref name="prefix"/>, and returns it.</summary>
        public async Task<string> ExpectAsync(string prefix)
        {
            while (true)
            {
                var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))
                    ?? throw new InvalidOperationException($"the script ended before '{prefix}':\n{string.Join('\n', _lines)}");
                _lines.Add(line);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }

                Assert.False(line.StartsWith("timeout ", StringComparison.Ordinal) || line.StartsWith("refused ", StringComparison.Ordinal), string.Join('\n', _lines));
            }
        }

        public async Task SendAsync(string line)
        {
            await _process.StandardInput.WriteLineAsync(line);
            await _process.StandardInput.FlushAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
