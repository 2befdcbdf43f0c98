using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Gateway.Connections;
using Gateway.Routing;
using Gateway.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Gateway.Tests.Functional;

/// <summary>
/// Thousands of bad peers, each on its own raw TCP connection and 32 at a time, against one node: every one gets
/// the answer the README documents (or, where the framework answers first, the one it gives), none of them takes
/// the node down or stays behind in the registry, and a well-behaved client exchanging numbered messages the whole
/// time loses none of them.
/// </summary>
[Collection(SerialLoad.Name)]
public class FuzzTests(ITestOutputHelper output)
{
    private const int MaxMessageBytes = 1024;
    private const int Concurrency = 32;
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private const string Dropped = "dropped";
    private static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Thousands_of_bad_peers_get_their_answers_and_a_good_client_loses_nothing()
    {
        var total = Stopwatch.StartNew();

        // The headers timeout comes from configuration (Kestrel:Limits), as an operator would set it.
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:MaxMessageBytes"] = MaxMessageBytes.ToString(CultureInfo.InvariantCulture),
            ["Kestrel:Limits:RequestHeadersTimeout"] = HeadersTimeout.ToString("c", CultureInfo.InvariantCulture),
            ["Gateway:Topics:ClientPublish:0:Pattern"] = "room.>",
            ["Gateway:Connections:Compression"] = "On",
        });
        var node = host.Services.GetRequiredService<GatewayNode>();

        await using var good = await host.ConnectAsync();
        var exchange = new Exchange(good);

        // Slow request heads on both listeners, held open for the whole of Kestrel's headers timeout.
        var receivedBeforeSlowloris = exchange.Received;
        var slowloris = Enumerable.Range(0, 48).Select(i => SlowlorisAsync(host.ClientEndPoint, i % 2 == 0 ? "/" : "/prod"))
            .Concat(Enumerable.Range(0, 16).Select(_ => SlowlorisAsync(host.ManagementEndPoint, "/@connections/AAAAAAAAAAAAAAAAAAAA")))
            .ToList();
        var receivedWhileSlowlorisHeld = Task.WhenAny(slowloris).ContinueWith(_ => exchange.Received - receivedBeforeSlowloris, TaskScheduler.Default);

        var probes = new List<Probe>();
        probes.AddRange(FrameProbes(host));
        probes.AddRange(HandshakeProbes(host.ClientEndPoint));
        probes.AddRange(ExtensionProbes(host.ClientEndPoint));
        probes.AddRange(PathProbes(host));
        probes.AddRange(ManagementProbes(host.ManagementEndPoint, node.MintConnectionId()));
        probes.AddRange(QueryProbes(host.ManagementEndPoint, node.MintConnectionId()));
        probes.AddRange(PublishProbes(host));
        var shuffled = probes.OrderBy(p => p.Order).ToList();

        var results = new ConcurrentQueue<(Probe Probe, Outcome Outcome)>();
        var attack = Stopwatch.StartNew();
        var receivedBefore = exchange.Received;
        await Parallel.ForEachAsync(shuffled, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (probe, _) =>
            results.Enqueue((probe, await probe.RunSafelyAsync())));
        var probesTook = attack.Elapsed;
        var slowAnswers = await Task.WhenAll(slowloris);
        attack.Stop();
        var receivedDuring = exchange.Received - receivedBefore;

        var (sent, received) = await exchange.StopAsync();
        var byKind = results.GroupBy(r => r.Probe.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        foreach (var kind in byKind)
        {
            var answers = kind.GroupBy(r => r.Outcome.Answer).OrderByDescending(a => a.Count()).Select(a => $"{a.Key} x{a.Count()}");
            output.WriteLine($"{kind.Count(),5}  {kind.Key}: {string.Join(", ", answers)}");
        }

        output.WriteLine($"{results.Count} bad connections in {probesTook.TotalSeconds:F1} s, and {slowAnswers.Length} slow request heads answered after {attack.Elapsed.TotalSeconds:F1} s; the good client exchanged {received} messages ({receivedDuring} during the attack)");

        // Every bad peer got its answer.
        var wrong = results.Where(r => !r.Probe.Allowed.Contains(r.Outcome.Answer)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {results.Count} bad peers got another answer:\n" + string.Join('\n', wrong.Take(30).Select(w =>
            $"  {w.Probe.Kind} #{w.Probe.Seed} ({w.Probe.Detail}): expected {string.Join(" or ", w.Probe.Allowed)}, got {w.Outcome.Answer}")));
        Assert.True(results.Count >= 2000, $"only {results.Count} bad connections");
        Assert.All(slowAnswers, a => Assert.Equal("408 closed", a));

        // The good client lost nothing, and was served while the attack ran.
        Assert.Null(exchange.Failure);
        Assert.Equal(sent, received);
        Assert.True(receivedDuring > 0, "the good client exchanged nothing during the attack");
        Assert.True(await receivedWhileSlowlorisHeld > 0, "the good client exchanged nothing while the slow request heads were held");
        Assert.True(host.Connection(good.Id).IsOpen);

        // Nothing is left behind: the good client is the only connection and holds the only slot, and every bad
        // connection that was upgraded ran $disconnect with the code its peer was sent, 1006 when it was dropped.
        await Wait.UntilAsync(() => host.Registry.Count == 1 && host.Registry.SlotsInUse == 1, "only the good client is left");
        Assert.Equal(good.Id, Assert.Single(host.Registry.All()).Id);
        var disconnects = host.Events.All.Where(e => e.Type == RouteEventType.Disconnect).ToDictionary(e => e.ConnectionId, e => e.StatusCode);
        var upgraded = results.Where(r => r.Outcome.ConnectionId is not null).ToList();
        var misreported = upgraded.Where(r => !disconnects.TryGetValue(r.Outcome.ConnectionId!, out var status) || !r.Outcome.Disconnect.Contains(status ?? 0)).ToList();
        Assert.True(misreported.Count == 0, $"{misreported.Count} of {upgraded.Count} upgraded bad connections reported another $disconnect:\n" + string.Join('\n', misreported.Take(30).Select(m =>
            $"  {m.Probe.Kind} #{m.Probe.Seed}: expected {string.Join(" or ", m.Outcome.Disconnect)}, got {(disconnects.TryGetValue(m.Outcome.ConnectionId!, out var s) ? s : "none")}")));
        Assert.Equal(upgraded.Count, disconnects.Count);

        // The node still serves: its management API lists the good client alone, a closed bad connection's id is
        // gone, health answers, and a new client connects and is echoed.
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
        using (var list = JsonDocument.Parse(await management.GetStringAsync(new Uri("/@connections", UriKind.Relative))))
        {
            Assert.Equal(1, list.RootElement.GetProperty("count").GetInt32());
            Assert.Equal(good.Id, list.RootElement.GetProperty("items")[0].GetProperty("connectionId").GetString());
        }

        foreach (var id in upgraded.Select(r => r.Outcome.ConnectionId!).Take(20))
        {
            Assert.Equal(HttpStatusCode.Gone, (await management.GetAsync(new Uri($"/@connections/{id}", UriKind.Relative))).StatusCode);
        }

        Assert.Equal("Healthy", await management.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        await using var fresh = await host.ConnectAsync();
        await fresh.SendTextAsync("after the storm");
        Assert.Equal("after the storm", await fresh.ReceiveTextAsync());
        await good.SendTextAsync("still here");
        Assert.Equal("still here", await good.ReceiveTextAsync());
        output.WriteLine($"whole test {total.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Bad_posts_and_reconnects_to_the_event_stream_get_clear_answers_and_its_clients_lose_nothing()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?>
        {
            ["Gateway:Connections:MaxMessageBytes"] = MaxMessageBytes.ToString(CultureInfo.InvariantCulture),
            ["Gateway:Connections:ResumeWindow"] = "00:00:30",
            ["Gateway:Routes:$default:Handler"] = "echo",
        });
        var baseUri = new Uri($"http://127.0.0.1:{host.ClientEndPoint.Port}");
        var tokens = host.Services.GetRequiredService<ResumeTokens>();
        var node = host.Services.GetRequiredService<GatewayNode>();

        // The target of the bad posts, which has taken message 1; and a good client exchanging numbered messages throughout.
        await using var target = await SseClient.OpenAsync(baseUri);
        Assert.Equal(HttpStatusCode.Accepted, (await target.SendAsync("first")).StatusCode);
        Assert.Equal("first", await target.ReceiveTextAsync());
        await using var good = await SseClient.OpenAsync(baseUri);
        using var stopGood = new CancellationTokenSource();
        var goodExchange = Task.Run(async () =>
        {
            var n = 0;
            while (!stopGood.IsCancellationRequested)
            {
                n++;
                Assert.Equal(HttpStatusCode.Accepted, (await good.SendAsync($"good {n}")).StatusCode);
                Assert.Equal($"good {n}", await good.ReceiveTextAsync());
            }

            return n;
        });

        var probes = SseProbes(host.ClientEndPoint, baseUri, target, tokens, node).OrderBy(p => p.Order).ToList();
        var results = new ConcurrentQueue<(Probe Probe, Outcome Outcome)>();
        await Parallel.ForEachAsync(probes, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (probe, _) =>
            results.Enqueue((probe, await probe.RunSafelyAsync())));
        await stopGood.CancelAsync();
        var exchanged = await goodExchange.WithTimeout();

        foreach (var kind in results.GroupBy(r => r.Probe.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{kind.Count(),5}  {kind.Key}: {string.Join(", ", kind.GroupBy(r => r.Outcome.Answer).OrderByDescending(a => a.Count()).Select(a => $"{a.Key} x{a.Count()}"))}");
        }

        output.WriteLine($"the good client exchanged {exchanged} messages meanwhile");
        var wrong = results.Where(r => !r.Probe.Allowed.Contains(r.Outcome.Answer)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {results.Count} bad requests got another answer:\n" + string.Join('\n', wrong.Take(30).Select(w =>
            $"  {w.Probe.Kind} #{w.Probe.Seed} ({w.Probe.Detail}): expected {string.Join(" or ", w.Probe.Allowed)}, got {w.Outcome.Answer}")));
        Assert.True(exchanged > 1, "the good client exchanged nothing during the attack");

        // Nothing was applied to the target: its next message is number 2, and it is echoed.
        Assert.Equal(HttpStatusCode.Accepted, (await target.SendAsync("second")).StatusCode);
        Assert.Equal("second", await target.ReceiveTextAsync());

        // Every stream a bad reconnect opened was closed with its DELETE and reported so; only the two clients are left.
        var opened = results.Where(r => r.Outcome.ConnectionId is not null).ToList();
        Assert.NotEmpty(opened);
        foreach (var (_, outcome) in opened)
        {
            Assert.Equal(CloseCodes.Normal, (await host.Events.DisconnectOf(outcome.ConnectionId!)).StatusCode);
        }

        await Wait.UntilAsync(() => host.Registry.Count == 2, "only the two good clients are left");
    }

    // ---- The event stream's posts and reconnects ----

    private static IEnumerable<Probe> SseProbes(IPEndPoint client, Uri baseUri, SseClient target, ResumeTokens tokens, GatewayNode node)
    {
        const string Gone = "410 GoneException closed";
        var key = target.SendUrl[(target.SendUrl.IndexOf("key=", StringComparison.Ordinal) + 4)..];
        var path = target.SendUrl[..target.SendUrl.IndexOf('?', StringComparison.Ordinal)];

        Func<Task<Outcome>> Post(string target, string contentType, byte[] body) => () => HttpAsync(client, Encoding.ASCII.GetBytes(
                $"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n").Concat(body).ToArray(), untilClosed: true);

        for (var i = 0; i < 300; i++)
        {
            // Random bodies, text or binary, some over the limit; the seq skips ahead, so a well-formed one is refused 409.
            var r = new Random(Seed("sse body", i));
            var binary = r.Next(3) == 0;
            var body = r.Next(10) == 0 ? Bytes(r, MaxMessageBytes + 1, 3 * MaxMessageBytes) : r.Next(2) == 0 ? Bytes(r, 0, 200) : Ascii(r, 0, MaxMessageBytes);
            var expected = body.Length > MaxMessageBytes ? "413 PayloadTooLargeException closed"
                : !binary && !System.Text.Unicode.Utf8.IsValid(body) ? "400 BadRequestException closed"
                : "409 ConflictException closed";
            yield return new Probe("sse post: random body", Seed("sse body", i), $"{body.Length} bytes, binary {binary}", [expected],
                Post($"{target.SendUrl}&seq={r.Next(3, 1_000_000)}", binary ? "application/octet-stream" : "text/plain; charset=utf-8", body));
        }

        string[] badSeqs = ["", "0", "-1", "x", "1e3", "%201", "0x10", "99999999999999999999999", "%00", "1%2C2", "2&seq=3", "+2", "1.0"];
        for (var i = 0; i < 130; i++)
        {
            var seq = badSeqs[i % badSeqs.Length];
            yield return new Probe("sse post: bad seq", Seed("sse seq", i), seq, ["400 BadRequestException closed"], Post($"{target.SendUrl}&seq={seq}", "text/plain", "x"u8.ToArray()));
        }

        for (var i = 0; i < 60; i++)
        {
            // A seq already taken: answered again, not applied again.
            yield return new Probe("sse post: a seq already taken", Seed("sse duplicate", i), "seq 1", ["202 closed"], Post($"{target.SendUrl}&seq=1", "text/plain", "first"u8.ToArray()));
        }

        for (var i = 0; i < 200; i++)
        {
            var r = new Random(Seed("sse key", i));
            var badKey = (i % 5) switch
            {
                0 => "",
                1 => Convert.ToBase64String(Bytes(r, 16, 16)).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
                2 => key[..21] + (key[21] == 'A' ? 'B' : 'A'),
                3 => Uri.EscapeDataString(Encoding.Latin1.GetString(Bytes(r, 1, 40))),
                _ => tokens.ConnectionKey(node.MintConnectionId()),
            };
            yield return new Probe("sse post: bad key", Seed("sse key", i), badKey, ["404 NotFoundException closed"], Post($"{path}?key={badKey}&seq=2", "text/plain", "x"u8.ToArray()));
        }

        for (var i = 0; i < 100; i++)
        {
            var r = new Random(Seed("sse id", i));
            var unknown = node.MintConnectionId();
            var (target2, expected) = (i % 4) switch
            {
                0 => ($"/sse/{unknown}?key={tokens.ConnectionKey(unknown)}&seq=1", Gone),
                1 => ($"/prod/sse/{unknown}?key={tokens.ConnectionKey(unknown)}&seq=1", Gone),
                2 => ($"/sse/{Encoding.ASCII.GetString(Ascii(r, 1, 40)).PadRight(21, 'x')[..(r.Next(2) == 0 ? r.Next(1, 20) : 21)]}?key={key}&seq=1", "404 NotFoundException closed"),
                _ => ($"/sse/{target.Id}/extra?key={key}&seq=2", "404 closed"),
            };
            yield return new Probe("sse post: unknown or malformed connection URL", Seed("sse id", i), target2, [expected], Post(target2, "text/plain", "x"u8.ToArray()));
        }

        for (var i = 0; i < 120; i++)
        {
            // Bad Last-Event-IDs: the stream opens as a new connection, told first that the resume was refused.
            var r = new Random(Seed("sse last id", i));
            var other = node.MintConnectionId();
            var lastId = (i % 6) switch
            {
                0 => Encoding.ASCII.GetString(Ascii(r, 0, 300)),
                1 => $"-1.{target.Id}.{node.Id}.{key}",
                2 => $"1.{target.Id}.{node.Id}.{tokens.ConnectionKey(other)}",
                3 => $"0.{other}.{node.Id}.{tokens.ConnectionKey(other)}",
                4 => $"{r.NextInt64()}.{target.Id}.{node.Id}",
                _ => string.Join('.', Enumerable.Range(0, r.Next(1, 9)).Select(_ => Convert.ToBase64String(Bytes(r, 0, 12)))),
            };
            yield return new Probe("sse stream: bad Last-Event-ID", Seed("sse last id", i), lastId.Length > 60 ? lastId[..60] + "…" : lastId, ["200 resume_failed, connected, closed"],
                () => BadReconnectAsync(baseUri, lastId, i % 2 == 0));
        }
    }

    /// <summary>Opens the stream with a bad <c>Last-Event-ID</c> (header or query), reads its first two events, and closes the new connection.</summary>
    private static async Task<Outcome> BadReconnectAsync(Uri baseUri, string lastId, bool header)
    {
        var path = header ? "/sse" : "/sse?lastEventId=" + Uri.EscapeDataString(lastId);
        await using var stream = await SseClient.OpenAsync(baseUri, path, header ? r => r.Headers.TryAddWithoutValidation("Last-Event-ID", lastId) : null, expectConnected: false);
        if (stream.Response.StatusCode != HttpStatusCode.OK)
        {
            return new Outcome(((int)stream.Response.StatusCode).ToString(CultureInfo.InvariantCulture));
        }

        var first = await stream.NextAsync();
        var refused = first.Json.TryGetProperty("code", out var code) ? code.GetString() : first.Type;
        await stream.ReadConnectedAsync();
        var closed = await stream.CloseAsync();
        await stream.Ended.WithTimeout();
        return new Outcome($"200 {refused}, connected, {(closed.StatusCode == HttpStatusCode.NoContent ? "closed" : ((int)closed.StatusCode).ToString(CultureInfo.InvariantCulture))}", stream.Id, CloseCodes.Normal);
    }

    // ---- WebSocket frames after a good handshake (README, "Behaviour at the edges") ----

    private static IEnumerable<Probe> FrameProbes(GatewayHost host)
    {
        int[] reservedOpcodes = [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF];
        byte[][] invalidUtf8 =
        [
            [0xFF], [0xFE], [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82],
        ];
        string[] multiByte = ["é", "€", "😀", "ж", "中"];
        long[] overLimit = [MaxMessageBytes + 1, MaxMessageBytes * 2, ushort.MaxValue, ushort.MaxValue + 1, 1L << 32, 1L << 40, long.MaxValue];

        foreach (var (kind, count, expected, frames) in new (string, int, int, Func<Random, (string, byte[][])>)[]
        {
            ("frame: RSV1/RSV2/RSV3 set", 120, CloseCodes.ProtocolError, r =>
            {
                var rsv = r.Next(1, 8) << 4;
                var opcode = r.Next(1, 3);
                return ($"rsv 0x{rsv:X2} opcode {opcode}", [RawClient.BuildFrame(opcode, Ascii(r, 0, 40), firstByte: 0x80 | rsv | opcode)]);
            }),
            ("frame: reserved opcode", 120, CloseCodes.ProtocolError, r =>
            {
                var opcode = reservedOpcodes[r.Next(reservedOpcodes.Length)];
                var fin = r.Next(2) == 0;
                return ($"opcode 0x{opcode:X} fin {fin}", [RawClient.BuildFrame(opcode, Bytes(r, 0, 40), fin: fin)]);
            }),
            ("frame: 64-bit length with the top bit set", 100, CloseCodes.ProtocolError, r =>
            {
                var length = long.MinValue | r.NextInt64(0, long.MaxValue);
                return ($"length 0x{length:X16}", [RawClient.BuildFrame(r.Next(1, 3), Ascii(r, 0, 16), declaredLength: length)]);
            }),
            ("frame: length over MaxMessageBytes", 100, CloseCodes.MessageTooBig, r =>
            {
                // The declared length alone is not refused: the limit is on bytes received, so send more than it.
                var length = overLimit[r.Next(overLimit.Length)];
                return ($"length {length}", [RawClient.BuildFrame(r.Next(1, 3), Filled((int)Math.Min(length, 4 * MaxMessageBytes), (byte)'a'), declaredLength: length)]);
            }),
            ("frame: fragments adding up to over MaxMessageBytes", 40, CloseCodes.MessageTooBig, r =>
            {
                var size = r.Next(100, 500);
                var fragments = (MaxMessageBytes / size) + 2;
                return ($"{fragments} x {size} bytes", [.. Enumerable.Range(0, fragments).Select(i => RawClient.BuildFrame(i == 0 ? 1 : 0, Filled(size, (byte)'b'), fin: false))]);
            }),
            ("frame: fragmented control frame", 90, CloseCodes.ProtocolError, r =>
            {
                var opcode = r.Next(8, 11);
                return ($"opcode {opcode} fin false", [RawClient.BuildFrame(opcode, opcode == 8 ? [0x03, 0xE8] : Bytes(r, 0, 125), fin: false)]);
            }),
            ("frame: control frame over 125 bytes", 90, CloseCodes.ProtocolError, r =>
            {
                var opcode = r.Next(8, 11);
                var payload = Bytes(r, 126, 400);
                if (opcode == 8)
                {
                    payload[0] = 0x03;
                    payload[1] = 0xE8;
                }

                return ($"opcode {opcode} {payload.Length} bytes", [RawClient.BuildFrame(opcode, payload)]);
            }),
            ("frame: unmasked", 90, CloseCodes.ProtocolError, r =>
            {
                // At least 4 payload bytes: the server reads a frame head as long as a masked one before judging it.
                int[] opcodes = [0, 1, 2, 9];
                var opcode = opcodes[r.Next(opcodes.Length)];
                return ($"opcode {opcode}", [RawClient.BuildFrame(opcode, Ascii(r, 4, 60), masked: false)]);
            }),
            ("frame: invalid UTF-8 in a text message", 120, CloseCodes.InvalidPayload, r =>
            {
                var bad = invalidUtf8[r.Next(invalidUtf8.Length)];
                return ($"{Convert.ToHexString(bad)}", [RawClient.BuildFrame(1, [.. Ascii(r, 0, 20), .. bad])]);
            }),
            ("frame: invalid UTF-8 split across continuation fragments", 100, CloseCodes.InvalidPayload, r =>
            {
                // A character's lead byte ends one continuation fragment, and the next one breaks the sequence.
                var character = Encoding.UTF8.GetBytes(multiByte[r.Next(multiByte.Length)]);
                var broken = character.ToArray();
                broken[^1] = r.Next(2) == 0 ? (byte)0x28 : (byte)0xC3;
                return ($"{Convert.ToHexString(broken)}",
                [
                    RawClient.BuildFrame(1, Ascii(r, 1, 20), fin: false),
                    RawClient.BuildFrame(0, [.. Ascii(r, 0, 10), broken[0]], fin: false),
                    RawClient.BuildFrame(0, broken[1..]),
                ]);
            }),
            ("frame: continuation with no message started", 60, CloseCodes.ProtocolError, r =>
            {
                var fin = r.Next(2) == 0;
                return ($"fin {fin}", [RawClient.BuildFrame(0, Ascii(r, 0, 40), fin: fin)]);
            }),
            ("frame: new message while a fragmented one is open", 60, CloseCodes.ProtocolError, r =>
            {
                var opcode = r.Next(1, 3);
                return ($"then opcode {opcode}", [RawClient.BuildFrame(1, Ascii(r, 1, 20), fin: false), RawClient.BuildFrame(opcode, Ascii(r, 0, 20), fin: r.Next(2) == 0)]);
            }),
        })
        {
            for (var i = 0; i < count; i++)
            {
                var seed = Seed(kind, i);
                var (detail, bytes) = frames(new Random(seed));
                yield return new Probe(kind, seed, detail, [$"close {expected}"], () => FramesAsync(host, bytes, halfClose: false));
            }
        }

        // Random bytes after the handshake, then enough zeros to end whatever frame they began: whatever they
        // parse as, the peer is closed for a protocol error, invalid text or a message over the limit.
        for (var i = 0; i < 150; i++)
        {
            var seed = Seed("garbage", i);
            var r = new Random(seed);
            var garbage = Bytes(r, 1, 64);
            yield return new Probe("frame: random bytes", seed, Convert.ToHexString(garbage.AsSpan(0, Math.Min(8, garbage.Length))),
                [$"close {CloseCodes.ProtocolError}", $"close {CloseCodes.InvalidPayload}", $"close {CloseCodes.MessageTooBig}"],
                () => FramesAsync(host, [garbage, new byte[4 * MaxMessageBytes]], halfClose: false));
        }

        // Well-formed frames (text, binary, continuations, pings and pongs, fragmented or not, with deterministic
        // masks) with a few bits flipped, then zeros: whatever the flips made of them, the peer is closed for a
        // protocol error, invalid text or a message over the limit, and never for an error of the server's own.
        for (var i = 0; i < 600; i++)
        {
            var seed = Seed("mutated", i);
            var r = new Random(seed);
            var stream = Mutated(r, out var flips);
            yield return new Probe("frame: well-formed frames with bits flipped", seed, flips,
                [$"close {CloseCodes.ProtocolError}", $"close {CloseCodes.InvalidPayload}", $"close {CloseCodes.MessageTooBig}"],
                () => FramesAsync(host, [stream, new byte[4 * MaxMessageBytes]], halfClose: false));
        }

        // Random bytes, then the end of the stream: the peer is closed, or dropped when the bytes end inside a frame.
        // Kestrel takes the end of the stream for the end of the connection, so a close frame the server writes at
        // that moment may never leave; $disconnect reports the protocol error it found, or 1006.
        for (var i = 0; i < 100; i++)
        {
            var seed = Seed("garbage then end", i);
            var r = new Random(seed);
            var garbage = Bytes(r, 1, 64);
            yield return new Probe("frame: random bytes, then the end of the stream", seed, Convert.ToHexString(garbage.AsSpan(0, Math.Min(8, garbage.Length))),
                [$"close {CloseCodes.ProtocolError}", $"close {CloseCodes.InvalidPayload}", Dropped], () => FramesAsync(host, [garbage], halfClose: true));
        }

        // The control: a valid character split the same way is assembled and echoed, not refused.
        for (var i = 0; i < 30; i++)
        {
            var seed = Seed("valid split", i);
            var r = new Random(seed);
            var head = Ascii(r, 1, 10);
            var character = Encoding.UTF8.GetBytes(multiByte[r.Next(multiByte.Length)]);
            byte[] message = [.. head, .. character];
            yield return new Probe("control: valid UTF-8 split across continuation fragments", seed, Convert.ToHexString(character), ["echoed, close 1000"], () => EchoSplitAsync(host, message, head.Length + 1));
        }
    }

    private static async Task<Outcome> FramesAsync(GatewayHost host, byte[][] frames, bool halfClose)
    {
        await using var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();
        try
        {
            foreach (var frame in frames)
            {
                await raw.WriteAsync(frame);
            }

            if (halfClose)
            {
                raw.ShutdownSend();
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // The server may already have closed; what it answered is still there to read.
        }

        var close = await raw.ReadUntilCloseAsync();
        if (close.Opcode != RawFrame.Dropped)
        {
            return new Outcome($"close {close.CloseStatus}", id, close.CloseStatus);
        }

        // After a half-close, a close frame the server wrote may have been cut off with the connection.
        return halfClose
            ? new Outcome(Dropped, id, CloseCodes.ProtocolError, CloseCodes.InvalidPayload, CloseCodes.Abnormal)
            : new Outcome(Dropped, id, CloseCodes.Abnormal);
    }

    private static async Task<Outcome> EchoSplitAsync(GatewayHost host, byte[] message, int splitAt)
    {
        await using var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();
        await raw.WriteAsync(RawClient.BuildFrame(1, message[..(splitAt - 1)], fin: false));
        await raw.WriteAsync(RawClient.BuildFrame(0, message[(splitAt - 1)..splitAt], fin: false));
        await raw.WriteAsync(RawClient.BuildFrame(0, message[splitAt..]));
        var echo = await raw.ReadFrameAsync();
        if (echo.Opcode != 1 || !echo.Payload.SequenceEqual(message))
        {
            return new Outcome($"opcode {echo.Opcode} {Convert.ToHexString(echo.Payload)}", id, CloseCodes.Abnormal);
        }

        await raw.WriteAsync(RawClient.BuildFrame(8, [0x03, 0xE8]));
        var close = await raw.ReadUntilCloseAsync();
        return new Outcome($"echoed, close {close.CloseStatus}", id, CloseCodes.Normal);
    }

    // ---- Handshakes that are not one (client listener) ----

    private static IEnumerable<Probe> HandshakeProbes(IPEndPoint client)
    {
        string[] badKeys = ["", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ==AAAA", "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNh bXBsZSBub25jZQ==", "AAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAA"];
        string[] badVersions = ["", "0", "8", "12", "14", "130", "13, 8", "thirteen"];
        string[] methods = ["POST", "PUT", "DELETE", "PATCH"];
        string[] targets = ["/", "/prod"];

        // The gateway answers a request that is not a valid handshake with 426 (naming version 13) and keeps the
        // connection; Kestrel answers one it cannot parse or that is over its limits itself (400, 414, 431) and closes.
        var cases = new List<(string Kind, string Detail, int Count, string Expected, Func<Random, byte[]> Request)>
        {
            ("handshake: random bytes instead of HTTP", "", 100, "400 closed", r => [.. Bytes(r, 1, 512), .. "\r\n\r\n"u8]),
            ("handshake: missing Sec-WebSocket-Key", "", 20, "426 v13", _ => Upgrade(client, "/", key: null)),
            ("handshake: no Upgrade header", "", 20, "426 v13", _ => Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {client}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n\r\n")),
            ("handshake: header line over 32 KB", "", 20, "431 closed", r => Upgrade(client, "/", extra: $"X-Long: {new string('a', r.Next(33_000, 64_000))}\r\n")),
            ("handshake: header lines over 32 KB in all", "", 20, "431 closed", r => Upgrade(client, "/", extra: string.Concat(Enumerable.Range(0, r.Next(170, 300)).Select(i => $"X-H{i}: {new string('b', 200)}\r\n")))),
            ("handshake: request line over 8 KB", "", 20, "414 closed", r => Upgrade(client, "/" + new string('p', r.Next(8_200, 20_000)))),
            ("handshake: no Host header", "", 20, "400 closed", _ => Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {Key}\r\nSec-WebSocket-Version: 13\r\n\r\n")),
            ("handshake: space in a header name", "", 20, "400 closed", _ => Upgrade(client, "/", extra: "Bad Header: x\r\n")),
            ("handshake: NUL in a header value", "", 20, "400 closed", _ => Upgrade(client, "/", extra: "X-A: a\0b\r\n")),
        };
        cases.AddRange(badKeys.Select(k => ("handshake: malformed Sec-WebSocket-Key", k, 8, "426 v13", (Func<Random, byte[]>)(_ => Upgrade(client, "/", key: k)))));
        cases.AddRange(badVersions.Select(v => ("handshake: wrong Sec-WebSocket-Version", v, 8, "426 v13", (Func<Random, byte[]>)(_ => Upgrade(client, "/", version: v)))));

        // Only GET is mapped at "/" and "/{stage}"; other methods find no endpoint at all.
        cases.AddRange(methods.SelectMany(m => targets.Select(p => ("handshake: a method other than GET", $"{m} {p}", 8, "404", (Func<Random, byte[]>)(_ => Upgrade(client, p, method: m))))));

        foreach (var (kind, detail, count, expected, request) in cases)
        {
            for (var i = 0; i < count; i++)
            {
                var seed = Seed(kind + detail, i);
                var bytes = request(new Random(seed));
                yield return new Probe(kind, seed, detail, [expected], () => HttpAsync(client, bytes, expected.EndsWith(" closed", StringComparison.Ordinal)));
            }
        }
    }

    // ---- permessage-deflate offers: taken or declined, the handshake always goes on (RFC 7692), never a server error ----

    private static IEnumerable<Probe> ExtensionProbes(IPEndPoint client)
    {
        const string Good = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits, permessage-deflate";
        const string Alphabet = "permessage-deflat_;,=\"  0123456789xyz";
        for (var i = 0; i < 150; i++)
        {
            var seed = Seed("extension offer", i);
            var r = new Random(seed);
            var offer = new StringBuilder(Good);
            for (var edits = r.Next(1, 8); edits > 0; edits--)
            {
                var at = r.Next(offer.Length);
                switch (r.Next(3))
                {
                    case 0:
                        offer.Remove(at, Math.Min(r.Next(1, 6), offer.Length - at));
                        break;
                    case 1:
                        offer.Insert(at, Alphabet[r.Next(Alphabet.Length)]);
                        break;
                    default:
                        offer.Insert(at, offer.ToString(at, Math.Min(r.Next(1, 30), offer.Length - at)));
                        break;
                }
            }

            var value = offer.ToString().Trim();
            var bytes = Upgrade(client, "/", extra: $"Sec-WebSocket-Extensions: {value}\r\n");
            yield return new Probe("handshake: a mangled Sec-WebSocket-Extensions offer", seed, value.Length > 40 ? value[..40] : value, ["101, close 1000"], () => HttpAsync(client, bytes, untilClosed: false));
        }
    }

    // ---- Paths on the client listener: either a normal handshake or 404, never a server error ----

    private static IEnumerable<Probe> PathProbes(GatewayHost host)
    {
        var client = host.ClientEndPoint;
        var paths = new (string Path, string Expected)[]
        {
            // Kestrel removes dot segments (decoded ones too) before routing.
            ("/../", "101, close 1000"),
            ("/%2e%2e/", "101, close 1000"),
            ("/prod/..", "101, close 1000"),
            ("/./prod", "101, close 1000"),
            ("/%2e%2e/%2e%2e/prod", "101, close 1000"),
            ("/prod/", "101, close 1000"),
            ("/PROD", "101, close 1000"), // routes match without regard to case

            ("/?x=%00", "101, close 1000"),
            ("/prod?x=%ff&y=../..", "101, close 1000"),
            ("//", "404"),
            ("/prod/../x", "404"),
            ("/prod/../../../etc/passwd", "404"),
            ("/prod//", "404"),
            ("/%2F", "404"),
            ("/prod%2F..", "404"),
            ("/%ZZ", "404"),
            ("/%C0%AE%C0%AE/", "404"),
            ("/prod;x", "404"),
            ("/" + new string('a', 4000), "404"),

            // Kestrel's own answers: a request line over 8 KB, a NUL or raw non-ASCII in the path, a foreign absolute
            // URI, and the asterisk form for GET.
            ("/" + new string('a', 9000), "414 closed"),
            ("/%00", "400 closed"),
            ("/prod%00", "400 closed"),
            ("/é", "400 closed"),
            ("http://evil.example/prod", "400 closed"),
            ("*", "405 closed"),
        };
        foreach (var (path, expected) in paths)
        {
            for (var i = 0; i < 10; i++)
            {
                var bytes = Upgrade(client, path);
                yield return new Probe("path on the client listener", Seed(path, i), path.Length > 40 ? $"/{path.Length - 1} characters" : path, [expected],
                    () => HttpAsync(client, bytes, expected.EndsWith(" closed", StringComparison.Ordinal)));
            }
        }
    }

    // ---- Connection ids on the management API (README, "Pushing to clients") ----

    private static IEnumerable<Probe> ManagementProbes(IPEndPoint management, string unknownId)
    {
        // The README's answers: an unknown id is 410 GoneException, a malformed one 400 BadRequestException, a
        // connection call without an id 404 NotFoundException (GET without one lists), and a method the API lacks
        // 405 MethodNotAllowedException. A path that is no management path once Kestrel has removed its dot
        // segments, or that has a segment after the id, is the plain 404 of routing; a NUL, raw non-ASCII or a
        // request line over 8 KB is refused by Kestrel (400, 414) before any of it.
        const string Gone = "410 GoneException closed";
        const string BadId = "400 BadRequestException closed";
        const string Kestrel400 = "400 closed";
        const string NoRoute = "404 closed";
        const string IdRequired = "404 NotFoundException closed";
        const string List = "200 closed";
        const string NotAllowed = "405 MethodNotAllowedException closed";
        var ids = new (string Target, string Post, string Get, string Delete, string Patch)[]
        {
            ("/@connections/..%2F..", BadId, BadId, BadId, BadId),
            ("/@connections/..%2F..%2Fetc%2Fpasswd", BadId, BadId, BadId, BadId),
            ("/@connections/%2e%2e", NoRoute, NoRoute, NoRoute, NoRoute),
            ("/@connections/..", NoRoute, NoRoute, NoRoute, NoRoute),
            ("/@connections/.", IdRequired, List, IdRequired, IdRequired),
            ("/@connections/%00", Kestrel400, Kestrel400, Kestrel400, Kestrel400),
            ("/@connections/AAAAAAAAAAAAAAAAAAA%00", Kestrel400, Kestrel400, Kestrel400, Kestrel400),
            ("/@connections/" + new string('a', 8_000), BadId, BadId, BadId, BadId),
            ("/@connections/" + new string('a', 10_240), "414 closed", "414 closed", "414 closed", "414 closed"),
            ("/@connections/%C3%A9%E2%82%AC%F0%9F%98%80", BadId, BadId, BadId, BadId),
            ("/@connections/ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ", Kestrel400, Kestrel400, Kestrel400, Kestrel400),
            ("/@connections/a/b", NoRoute, NoRoute, NoRoute, NoRoute),
            ("/@connections/AAAAAAAAAAAAAAAAAAAA/extra", NoRoute, NoRoute, NoRoute, NoRoute),
            ("/@connections/", IdRequired, List, IdRequired, IdRequired),
            ("/@connections/AAAAAAAAAAAAAAAAAAAA", Gone, Gone, Gone, Gone),
            ("/@connections/" + unknownId, Gone, Gone, Gone, Gone),
            ("/prod/../@connections/AAAAAAAAAAAAAAAAAAAA", Gone, Gone, Gone, Gone),
            ("/@connections/;", BadId, BadId, BadId, BadId),
            ("/@connections/x;y", BadId, BadId, BadId, BadId),
            ("/@connections/AAAAAAAAAAAAAAAAAAAA;x", BadId, BadId, BadId, BadId),
            ("/@connections/AAAAAAAAAAAAAAAAAAAA?x=1&id=../..", Gone, Gone, Gone, Gone),
            ("/@connections?limit=-1&cursor=%00", IdRequired, BadId, IdRequired, IdRequired),
            ("/@connections/%2F", BadId, BadId, BadId, BadId),
            ("/@connections/AAAAAAAAAAAAAAAAAAAA%2Fx", BadId, BadId, BadId, BadId),
            ("/@connections/%", BadId, BadId, BadId, BadId),
            ("/@connections/%ZZ", BadId, BadId, BadId, BadId),
            ("/@connections/%FF", BadId, BadId, BadId, BadId),
        };
        foreach (var (target, post, get, delete, patch) in ids)
        {
            foreach (var (method, expected) in new[] { ("POST", post), ("GET", get), ("DELETE", delete), ("PATCH", patch), ("PUT", post == Gone ? NotAllowed : post) })
            {
                for (var i = 0; i < 3; i++)
                {
                    var body = method == "PATCH" ? "{}" : method is "POST" or "PUT" ? "fuzz" : "";
                    var bytes = Encoding.UTF8.GetBytes(
                        $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
                    yield return new Probe($"management: {method} with a tricky id", Seed(method + target, i), target.Length > 60 ? $"{target[..30]}… ({target.Length})" : target, [expected],
                        () => HttpAsync(management, bytes, untilClosed: true));
                }
            }
        }
    }

    // ---- Malformed input to the cluster-wide queries, server-side subscriptions and history reads ----

    private static IEnumerable<Probe> QueryProbes(IPEndPoint management, string unknownId)
    {
        const string Bad = "400 BadRequestException closed";
        const string Gone = "410 GoneException closed";
        const string NotFound = "404 NotFoundException closed";
        const string Kestrel400 = "400 closed";
        var requests = new (string Method, string Target, string Body, string Expected)[]
        {
            ("GET", "/@connections?limit=abc", "", Bad),
            ("GET", "/@connections?limit=0", "", Bad),
            ("GET", "/@connections?limit=100000", "", Bad),
            ("GET", "/@connections?cursor=%%%", "", Bad),
            ("GET", "/@connections?cursor=not-a-cursor", "", Bad),
            ("GET", "/@connections?scope=everywhere", "", Bad),
            ("GET", "/@connections?topic=a..b", "", Bad),
            ("GET", "/@connections?userId=%01", "", Bad),
            ("HEAD", "/@connections/" + unknownId, "", Gone),
            ("GET", "/@users/%01", "", Bad),
            ("GET", "/@users/%00", "", Kestrel400),
            ("DELETE", "/@users/bob?code=abc", "", Bad),
            ("DELETE", "/@users/bob?code=1001", "", Bad),
            ("DELETE", "/@users/bob?code=1000&reason=" + new string('r', 200), "", Bad),
            ("GET", "/@topics/a..b", "", Bad),
            ("GET", "/@topics/a.*", "", Bad),
            ("GET", "/@topics?limit=-5", "", Bad),
            ("GET", "/@topics?cursor=%ZZ", "", Bad),
            ("PUT", $"/@connections/{unknownId}/topics/room.a", "", Gone),
            ("PUT", "/@connections/%ZZ/topics/room.a", "", Bad),
            ("PUT", $"/@connections/{unknownId}/topics/a..b", "", Bad),
            ("PUT", "/@users/bob/topics/room.a?for=soon", "", Bad),
            ("PUT", "/@users/bob/topics/room.a?for=99:00:00", "", Bad),
            ("GET", "/@topics/room.a/history?limit=x", "", Bad),
            ("GET", "/@topics/room.a/history?since=1", "", Bad),
            ("GET", "/@topics/room.a/history", "", NotFound),
        };
        foreach (var (method, target, body, expected) in requests)
        {
            for (var i = 0; i < 3; i++)
            {
                var bytes = Encoding.UTF8.GetBytes(
                    $"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
                yield return new Probe($"management: malformed {method} to the queries", Seed(method + target, i), target.Length > 60 ? $"{target[..30]}… ({target.Length})" : target, [expected],
                    () => HttpAsync(management, bytes, untilClosed: true));
            }
        }
    }

    // ---- Malformed publish commands of clients ----

    private static IEnumerable<Probe> PublishProbes(GatewayHost host)
    {
        const string Invalid = "publish_failed invalid, close 1000";
        var commands = new (string Command, string Expected)[]
        {
            ("""{"action":"publish"}""", Invalid),
            ("""{"action":"publish","type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":5,"type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":null,"type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":"","type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":["room.a"],"type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.*","type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.>","type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room..a","type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":".room","type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.\ud800","type":"m","data":1}""", Invalid),
            ($$"""{"action":"publish","channel":"room.{{new string('a', 300)}}","type":"m","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.a","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.a","type":null,"data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.a","type":{"t":1},"data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.a","type":"","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.a","type":"a\u0000b","data":1}""", Invalid),
            ($$"""{"action":"publish","channel":"room.a","type":"{{new string('t', 300)}}","data":1}""", Invalid),
            ("""{"action":"publish","channel":"room.a","type":"m"}""", Invalid),
            ("""{"action":"publish","data":{"channel":7,"type":"m","data":1}}""", Invalid),
            ("""{"action":"publish","data":{"channel":"room.a","data":1}}""", Invalid),
            ("""{"action":"publish","channel":"news.a","type":"m","data":1}""", "publish_failed not_allowed, close 1000"),
            ("""{"action":"publish","channel":"room.a","type":"m","data":{"deep":[[[[1]]]]},"id":{"x":[1]}}""", "published, close 1000"),
            ("""{"action":"publish","data":{"channel":"room.a","type":"m","data":null}}""", "published, close 1000"),
        };
        foreach (var (command, expected) in commands)
        {
            for (var i = 0; i < 3; i++)
            {
                yield return new Probe("command: malformed publish", Seed(command, i), command.Length > 60 ? $"{command[..50]}… ({command.Length})" : command, [expected],
                    () => CommandAsync(host, command));
            }
        }
    }

    /// <summary>Sends one command and describes its answer (the type, and the reason of a refusal that names its problem), then closes normally.</summary>
    private static async Task<Outcome> CommandAsync(GatewayHost host, string command)
    {
        await using var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();
        await raw.SendTextAsync(command);
        var answer = await raw.ReadFrameAsync();
        var described = $"opcode {answer.Opcode}";
        if (answer.Opcode == 1)
        {
            using var json = JsonDocument.Parse(answer.Payload);
            var root = json.RootElement;
            described = root.TryGetProperty("type", out var type) ? type.GetString() ?? "" : root.GetRawText();
            if (root.TryGetProperty("reason", out var reason))
            {
                var named = root.TryGetProperty("message", out var message) && message.GetString() is { Length: > 0 };
                described += $" {reason.GetString()}{(named ? "" : " without a message")}";
            }
        }

        await raw.WriteAsync(RawClient.BuildFrame(8, [0x03, 0xE8]));
        var close = await raw.ReadUntilCloseAsync();
        return new Outcome($"{described}, close {close.CloseStatus}", id, CloseCodes.Normal);
    }

    // ---- Raw HTTP ----

    private static byte[] Upgrade(IPEndPoint host, string target, string method = "GET", string? key = Key, string version = "13", string extra = "")
    {
        var request = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
        if (key is not null)
        {
            request.Append(CultureInfo.InvariantCulture, $"Sec-WebSocket-Key: {key}\r\n");
        }

        return Encoding.UTF8.GetBytes(request.Append(CultureInfo.InvariantCulture, $"Sec-WebSocket-Version: {version}\r\n{extra}\r\n").ToString());
    }

    /// <summary>
    /// Sends a request and describes the answer: the status, the management error type, <c>v13</c> when the
    /// supported WebSocket version is named, and, when asked, whether the server then closed the connection.
    /// A 101 is followed through: the connected frame, then a normal close.
    /// </summary>
    private static async Task<Outcome> HttpAsync(IPEndPoint endPoint, byte[] request, bool untilClosed)
    {
        await using var raw = await RawClient.OpenAsync(endPoint);
        try
        {
            await raw.WriteAsync(request);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // The server may have answered and closed before taking the whole request.
        }

        var (status, head) = await raw.ReadResponseHeadAsync();
        if (status == 101)
        {
            var id = await raw.ReadConnectedAsync();
            if (!ConnectionId.IsWellFormed(id))
            {
                return new Outcome($"101 with connection id {id}");
            }

            await raw.WriteAsync(RawClient.BuildFrame(8, [0x03, 0xE8]));
            var close = await raw.ReadUntilCloseAsync();
            return new Outcome($"101, close {close.CloseStatus}", id, CloseCodes.Normal);
        }

        var answer = new StringBuilder(status.ToString(CultureInfo.InvariantCulture));
        var lines = head.Split("\r\n");
        if (lines.FirstOrDefault(l => l.StartsWith("x-amzn-ErrorType:", StringComparison.OrdinalIgnoreCase)) is { } type)
        {
            answer.Append(' ').Append(type.AsSpan("x-amzn-ErrorType:".Length).Trim());
        }

        if (lines.Any(l => l.Equals("Sec-WebSocket-Version: 13", StringComparison.OrdinalIgnoreCase)))
        {
            answer.Append(" v13");
        }

        if (untilClosed)
        {
            answer.Append(await raw.ReadToEndAsync() ? " closed" : " still open");
        }

        return new Outcome(answer.ToString());
    }

    /// <summary>
    /// Sends part of a request head, then a byte of a header line now and then, never finishing it; returns
    /// the status of the answer and whether the server then closed the connection.
    /// </summary>
    private static async Task<string> SlowlorisAsync(IPEndPoint endPoint, string target)
    {
        await using var raw = await RawClient.OpenAsync(endPoint);
        await raw.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nX-Slow: "));
        using var stop = new CancellationTokenSource();
        var trickle = TrickleAsync(raw, stop.Token);
        try
        {
            var (status, _) = await raw.ReadResponseHeadAsync(HeadersTimeout + Wait.Default);
            var closed = await raw.ReadToEndAsync();
            return $"{status} {(closed ? "closed" : "still open")}";
        }
        finally
        {
            await stop.CancelAsync();
            await trickle;
        }
    }

    private static async Task TrickleAsync(RawClient raw, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await raw.WriteAsync("a"u8.ToArray());
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Stopped, or the server closed the connection.
        }
    }

    // ---- Data ----

    /// <summary>A seed that names the case in a failure message and stays the same from run to run.</summary>
    private static int Seed(string kind, int i)
    {
        var hash = 2166136261u;
        foreach (var c in kind)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)((hash & 0x7FFF) << 16) + i;
    }

    private static byte[] Bytes(Random r, int min, int max)
    {
        var bytes = new byte[r.Next(min, max + 1)];
        r.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Ascii(Random r, int min, int max) => [.. Enumerable.Range(0, r.Next(min, max + 1)).Select(_ => (byte)r.Next('a', 'z' + 1))];

    /// <summary>A few well-formed frames, as a client would send them, with 1 to 4 random bits flipped.</summary>
    private static byte[] Mutated(Random r, out string flips)
    {
        var frames = new List<byte>();
        var open = false;
        for (var n = r.Next(1, 6); n > 0; n--)
        {
            var mask = Bytes(r, 4, 4);
            int[] controls = [9, 10];
            var control = r.Next(4) == 0;
            var fin = control || r.Next(3) > 0;
            var opcode = control ? controls[r.Next(2)] : open ? 0 : r.Next(1, 3);
            var payload = control ? Bytes(r, 0, 125) : opcode == 2 || r.Next(2) == 0 ? Bytes(r, 0, 300) : Ascii(r, 0, 300);
            frames.AddRange(RawClient.BuildFrame(opcode, payload, fin: fin, mask: mask));
            open = !control && !fin;
        }

        var bytes = frames.ToArray();
        var flipped = new List<string>();
        for (var n = r.Next(1, 5); n > 0; n--)
        {
            var bit = r.Next(bytes.Length * 8);
            bytes[bit / 8] ^= (byte)(1 << (bit % 8));
            flipped.Add(bit.ToString(CultureInfo.InvariantCulture));
        }

        flips = $"{bytes.Length} bytes, bits {string.Join(',', flipped)} flipped";
        return bytes;
    }

    private static byte[] Filled(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    /// <summary>One bad peer: what it is, the answers it may get, and how to be it.</summary>
    private sealed record Probe(string Kind, int Seed, string Detail, string[] Allowed, Func<Task<Outcome>> Run)
    {
        // A fixed shuffle, so that kinds interleave and a failing run can be repeated.
        public uint Order { get; } = unchecked((uint)Seed * 2654435761u);

        public async Task<Outcome> RunSafelyAsync()
        {
            try
            {
                return await Run();
            }
            catch (Exception ex)
            {
                return new Outcome($"{ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// What a bad peer saw, and for one that was upgraded, its connection id and the statuses its
    /// <c>$disconnect</c> may report.
    /// </summary>
    private sealed record Outcome(string Answer, string? ConnectionId = null, params int[] Disconnect);

    /// <summary>
    /// The good client: sends numbered messages, up to 8 ahead of their echoes, and checks that every echo comes
    /// back, in order, with nothing else in between.
    /// </summary>
    private sealed class Exchange
    {
        private readonly TestClient _client;
        private readonly Channel<int> _inFlight = Channel.CreateBounded<int>(8);
        private volatile bool _stopping;
        private readonly Task _sender;
        private readonly Task _receiver;
        private int _sent;
        private int _received;

        public Exchange(TestClient client)
        {
            _client = client;
            _sender = SendAsync();
            _receiver = ReceiveAsync();
        }

        public int Received => Volatile.Read(ref _received);

        public string? Failure { get; private set; }

        /// <summary>Stops sending, waits for the last echo, and returns how many were sent and received.</summary>
        public async Task<(int Sent, int Received)> StopAsync()
        {
            _stopping = true;
            await _sender;
            await _receiver;
            return (_sent, _received);
        }

        private async Task SendAsync()
        {
            try
            {
                while (!_stopping)
                {
                    await _inFlight.Writer.WaitToWriteAsync();
                    var n = _sent;
                    await _client.SendTextAsync($"good {n}");
                    _sent = n + 1;
                    await _inFlight.Writer.WriteAsync(n);
                }
            }
            catch (Exception ex)
            {
                Failure ??= $"send {_sent}: {ex.GetType().Name}: {ex.Message}";
            }
            finally
            {
                _inFlight.Writer.Complete();
            }
        }

        private async Task ReceiveAsync()
        {
            try
            {
                await foreach (var n in _inFlight.Reader.ReadAllAsync())
                {
                    var frame = await _client.ReceiveAsync();
                    if (frame.Text != $"good {n}")
                    {
                        Failure ??= $"expected echo {n}, got {frame.Type} '{frame.Text}' {frame.CloseStatus}";
                        return;
                    }

                    Interlocked.Increment(ref _received);
                }
            }
            catch (Exception ex)
            {
                Failure ??= $"receive {_received}: {ex.GetType().Name}: {ex.Message}";
            }
        }
    }
}
