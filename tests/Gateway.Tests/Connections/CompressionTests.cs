using System.IO.Compression;
using System.Net.WebSockets;
using System.Text;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Connections;

/// <summary>
/// permessage-deflate (RFC 7692) over real sockets: negotiated on both handshake paths with the .NET client, compressed
/// frames both ways over a raw socket, a deflate bomb, offers that are declined, the option off, and a topic event
/// compressed once for all its subscribers.
/// </summary>
public class CompressionTests
{
    private const int MaxMessageBytes = 64 * 1024;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_that_offers_it_gets_compressed_frames_both_ways_and_a_topic_event_is_compressed_once(bool throughKestrel)
    {
        await using var host = await StartAsync(throughKestrel, new() { ["Gateway:Connections:Compression"] = "On" });
        using var compressed = new MeterCount(host, "gateway.compression.messages");

        // The .NET client: the 101 names the extension; a large message goes compressed both ways and comes back whole.
        await using (var client = await host.ConnectAsync(configure: o =>
        {
            o.CollectHttpResponseDetails = true;
            o.DangerousDeflateOptions = new WebSocketDeflateOptions { ClientContextTakeover = false, ServerContextTakeover = false };
        }))
        {
            var large = LargeJson(8000);
            var before = compressed.Total;
            await client.SendTextAsync(large);
            Assert.Equal(large, await client.ReceiveTextAsync());
            Assert.Equal(before + 1, compressed.Total);
            await client.SendTextAsync("""{"action":"small"}""");
            Assert.Equal("""{"action":"small"}""", await client.ReceiveTextAsync());
            Assert.Equal(before + 1, compressed.Total);
        }

        // A raw socket: the 101's answer, a compressed message in two fragments (RSV1 on the first only), echoed
        // compressed; a small one comes back plain.
        await using (var raw = await RawClient.OpenAsync(host.ClientEndPoint))
        {
            var (status, head) = await raw.HandshakeAsync(host.ClientEndPoint, "/", Offer("permessage-deflate; client_max_window_bits"));
            Assert.Equal(101, status);
            Assert.Contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n", head, StringComparison.OrdinalIgnoreCase);
            await raw.ReadConnectedAsync();
            var text = LargeJson(3000);
            var deflated = Deflate(Encoding.UTF8.GetBytes(text));
            await raw.WriteAsync(RawClient.BuildFrame(1, deflated[..10], fin: false, firstByte: 0x41));
            await raw.WriteAsync(RawClient.BuildFrame(0, deflated[10..]));
            var (firstByte, payload) = await ReadRawFrameAsync(raw);
            Assert.Equal(0xC1, firstByte);
            Assert.Equal(text, Encoding.UTF8.GetString(Inflate(payload)));
            await raw.WriteAsync(RawClient.BuildFrame(1, Deflate("""{"a":1}"""u8.ToArray()), firstByte: 0xC1));
            (firstByte, payload) = await ReadRawFrameAsync(raw);
            Assert.Equal(0x81, firstByte);
            Assert.Equal("""{"a":1}""", Encoding.UTF8.GetString(payload));

            // Inflated text is checked as text: invalid UTF-8 inside a compressed message is 1007.
            await raw.WriteAsync(RawClient.BuildFrame(1, Deflate([0x61, 0xED, 0xA0, 0x80]), firstByte: 0xC1));
            Assert.Equal(CloseCodes.InvalidPayload, (await raw.ReadUntilCloseAsync()).CloseStatus);
        }

        // A deflate bomb: a few hundred bytes that inflate to 8 MB are closed with 1009 as soon as they pass the limit.
        await using (var bomb = await RawClient.ConnectAsync(host.ClientEndPoint, "/", headers: Offer("permessage-deflate")))
        {
            var id = await bomb.ReadConnectedAsync();
            var zeros = Deflate(new byte[8 * 1024 * 1024]);
            Assert.True(zeros.Length < 16 * 1024);
            await bomb.WriteAsync(RawClient.BuildFrame(2, zeros, firstByte: 0xC2));
            Assert.Equal(CloseCodes.MessageTooBig, (await bomb.ReadUntilCloseAsync()).CloseStatus);
            await bomb.DisposeAsync();
            Assert.Equal(CloseCodes.MessageTooBig, (await host.Events.DisconnectOf(id)).StatusCode);
        }

        // Fan-out: five subscribers that negotiated alike receive one event; it was compressed once.
        var subscribers = new List<TestClient>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var subscriber = await host.ConnectAsync(configure: o => o.DangerousDeflateOptions = new WebSocketDeflateOptions { ClientContextTakeover = false, ServerContextTakeover = false });
                await subscriber.SendTextAsync("""{"action":"subscribe","channel":"news"}""");
                Assert.Contains("subscribed", await subscriber.ReceiveTextAsync(), StringComparison.Ordinal);
                subscribers.Add(subscriber);
            }

            var before = compressed.Total;
            using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}") };
            using var body = new StringContent("{\"type\":\"story\",\"data\":" + LargeJson(4000) + "}", Encoding.UTF8, "application/json");
            (await management.PostAsync(new Uri("/@topics/news", UriKind.Relative), body)).EnsureSuccessStatusCode();
            foreach (var subscriber in subscribers)
            {
                Assert.Contains("\"channel\":\"news\"", await subscriber.ReceiveTextAsync(), StringComparison.Ordinal);
            }

            Assert.Equal(before + 1, compressed.Total);
        }
        finally
        {
            foreach (var subscriber in subscribers)
            {
                await subscriber.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Offers_it_cannot_take_are_declined_never_refused_and_the_option_off_declines_all()
    {
        await using var host = await StartAsync(throughKestrel: false, new() { ["Gateway:Connections:Compression:Mode"] = "On", ["Gateway:Connections:Compression:MinMessageBytes"] = "512" });
        foreach (var offer in new[]
        {
            "permessage-deflate; server_max_window_bits=16", "permessage-deflate; server_max_window_bits=7", "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=abc", "permessage-deflate; foo", "permessage-deflate; foo=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits=8", "permessage-deflate;;", ";;;,,,", "permessage-deflate; client_max_window_bits=\"1 0\"",
            "x-webkit-deflate-frame", "permessage-deflate; server_max_window_bits=\"",
        })
        {
            await AssertDeclinedAsync(host, offer);
        }

        // The first acceptable offer is taken, with its parameters answered (a quoted value too).
        await using (var raw = await RawClient.OpenAsync(host.ClientEndPoint))
        {
            var (status, head) = await raw.HandshakeAsync(host.ClientEndPoint, "/", Offer("permessage-deflate; foo, permessage-deflate; server_max_window_bits=10; client_max_window_bits=\"12\""));
            Assert.Equal(101, status);
            Assert.Contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12\r\n", head, StringComparison.OrdinalIgnoreCase);

            // MinMessageBytes from the JSON form of the options: 300 bytes go plain, 600 compressed.
            await raw.ReadConnectedAsync();
            foreach (var (size, expected) in new[] { (300, 0x81), (600, 0xC1) })
            {
                var text = LargeJson(size);
                await raw.WriteAsync(RawClient.BuildFrame(1, Encoding.UTF8.GetBytes(text)));
                var (firstByte, payload) = await ReadRawFrameAsync(raw);
                Assert.Equal(expected, firstByte);
                Assert.Equal(text, Encoding.UTF8.GetString(expected == 0xC1 ? Inflate(payload) : payload));
            }
        }

        // The option off (the default): every offer is declined, and a compressed frame is then a protocol error.
        var reloadable = new ReloadableSettings(new Dictionary<string, string?>());
        await using var off = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:MaxMessageBytes"] = "65536" }, reloadable: reloadable);
        await AssertDeclinedAsync(off, "permessage-deflate; client_max_window_bits");

        // Turned on by a reload: handshakes after it negotiate; a connection opened before keeps going uncompressed.
        await using var openedBefore = await RawClient.ConnectAsync(off.ClientEndPoint, "/", headers: Offer("permessage-deflate"));
        await openedBefore.ReadConnectedAsync();
        reloadable.Apply(new Dictionary<string, string?> { ["Gateway:Connections:Compression"] = "On" });
        await using (var after = await RawClient.OpenAsync(off.ClientEndPoint))
        {
            var (status, head) = await after.HandshakeAsync(off.ClientEndPoint, "/", Offer("permessage-deflate"));
            Assert.Equal(101, status);
            Assert.Contains("Sec-WebSocket-Extensions: permessage-deflate", head, StringComparison.OrdinalIgnoreCase);
        }

        var large = LargeJson(2000);
        await openedBefore.WriteAsync(RawClient.BuildFrame(1, Encoding.UTF8.GetBytes(large)));
        var (plainFirstByte, plain) = await ReadRawFrameAsync(openedBefore);
        Assert.Equal(0x81, plainFirstByte);
        Assert.Equal(large, Encoding.UTF8.GetString(plain));

        // Context takeover allowed both ways: the 101 says neither no_context_takeover, and two messages compressed with
        // one history (the second refers back to the first) are inflated and echoed, compressed the same way.
        await using (var keeping = await StartAsync(throughKestrel: false, new()
        {
            ["Gateway:Connections:Compression"] = "On",
            ["Gateway:Connections:Compression:ServerNoContextTakeover"] = "false",
            ["Gateway:Connections:Compression:ClientNoContextTakeover"] = "false",
        }))
        await using (var raw = await RawClient.OpenAsync(keeping.ClientEndPoint))
        {
            var (status, head) = await raw.HandshakeAsync(keeping.ClientEndPoint, "/", Offer("permessage-deflate"));
            Assert.Equal(101, status);
            Assert.Contains("Sec-WebSocket-Extensions: permessage-deflate\r\n", head, StringComparison.OrdinalIgnoreCase);
            await raw.ReadConnectedAsync();
            var text = LargeJson(1500);
            using var history = new MemoryStream();
            using var deflate = new DeflateStream(history, CompressionLevel.Optimal, leaveOpen: true);
            var echoed = new List<byte>();
            for (var i = 0; i < 2; i++)
            {
                var start = history.Length;
                deflate.Write(Encoding.UTF8.GetBytes(text));
                deflate.Flush();
                var message = history.ToArray()[(int)start..^4];
                await raw.WriteAsync(RawClient.BuildFrame(1, message, firstByte: 0xC1));
                var (firstByte, payload) = await ReadRawFrameAsync(raw);
                Assert.Equal(0xC1, firstByte);
                echoed.AddRange([.. payload, 0x00, 0x00, 0xFF, 0xFF]);
            }

            // The server's two messages share one history too: they inflate as one stream.
            Assert.Equal(text + text, Encoding.UTF8.GetString(Inflate([.. echoed.SkipLast(4)])));
        }

        // A mode that is neither Off nor On stops the start, naming its key.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(throughKestrel: false, new() { ["Gateway:Connections:Compression"] = "Maybe" }));
        Assert.Contains("Gateway:Connections:Compression", refused.ToString(), StringComparison.Ordinal);
    }

    private static async Task AssertDeclinedAsync(GatewayHost host, string offer)
    {
        await using var raw = await RawClient.OpenAsync(host.ClientEndPoint);
        var (status, head) = await raw.HandshakeAsync(host.ClientEndPoint, "/", Offer(offer));
        Assert.True(status == 101, $"'{offer}' was answered {status}");
        Assert.DoesNotContain("Sec-WebSocket-Extensions", head, StringComparison.OrdinalIgnoreCase);
        var id = await raw.ReadConnectedAsync();
        await raw.WriteAsync(RawClient.BuildFrame(1, Deflate(Encoding.UTF8.GetBytes(LargeJson(400))), firstByte: 0xC1));
        Assert.Equal(CloseCodes.ProtocolError, (await raw.ReadUntilCloseAsync()).CloseStatus);
        Assert.Equal(CloseCodes.ProtocolError, (await host.Events.DisconnectOf(id)).StatusCode);
    }

    private static Dictionary<string, string> Offer(string offer) => new() { ["Sec-WebSocket-Extensions"] = offer };

    private static string LargeJson(int size)
    {
        var text = new StringBuilder("""{"action":"chat","items":[""");
        for (var i = 0; text.Length < size - 40; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $$"""{"n":{{i}},"word":"token-{{i % 17}}"},""");
        }

        return text.Append("""{"n":-1}]}""").ToString();
    }

    // Raw deflate with a sync flush, its closing 00 00 FF FF left off (RFC 7692 §7.2.1).
    private static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
            deflate.Flush();
            var flushed = output.ToArray();
            Assert.Equal([0x00, 0x00, 0xFF, 0xFF], flushed[^4..]);
            return flushed[..^4];
        }
    }

    private static byte[] Inflate(byte[] data)
    {
        using var input = new MemoryStream([.. data, 0x00, 0x00, 0xFF, 0xFF]);
        using var inflate = new DeflateStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        try
        {
            while ((read = inflate.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException)
        {
            // The stream has no final block: everything up to the flush has been read.
        }

        return output.ToArray();
    }

    // The first byte (FIN, RSV1, opcode) of a server frame and its payload.
    private static async Task<(int FirstByte, byte[] Payload)> ReadRawFrameAsync(RawClient raw)
    {
        var frame = await raw.ReadFrameAsync();
        return (frame.FirstByte, frame.Payload);
    }

    private static Task<GatewayHost> StartAsync(bool throughKestrel, Dictionary<string, string?> settings)
    {
        settings["Gateway:Connections:MaxMessageBytes"] = MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return GatewayHost.StartAsync(settings, kestrel: throughKestrel ? k => k.Limits.MaxConcurrentUpgradedConnections = 1000 : null);
    }
}
