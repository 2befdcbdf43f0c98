using System.Text;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Connections;

/// <summary>
/// The gateway's own WebSocket framing, over a raw socket, on both handshake paths (taken at the connection level, and
/// through the web server when Kestrel counts upgraded connections): what a client may do and is answered, and every
/// fault it is closed for, with the code the client reads and the one <c>$disconnect</c> reports.
/// </summary>
public class WebSocketCodecTests
{
    private const int MaxMessageBytes = 100_000;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fragments_pings_long_frames_and_every_fault_get_the_answers_of_RFC_6455(bool throughKestrel)
    {
        await using var host = await StartAsync(throughKestrel);

        // Fragmented text with a ping between its fragments: the pong comes at once with the ping's payload, and the
        // message (a character split across the fragments) is echoed whole.
        await using (var raw = await host.ConnectRawAsync())
        {
            await raw.ReadConnectedAsync();
            var text = Encoding.UTF8.GetBytes("héllo, wörld 😀!");
            await raw.WriteAsync(RawClient.BuildFrame(1, text[..2], fin: false));
            await raw.WriteAsync(RawClient.BuildFrame(9, "are you there"u8.ToArray()));
            var pong = await raw.ReadFrameAsync();
            Assert.Equal(0xA, pong.Opcode);
            Assert.Equal("are you there", Encoding.UTF8.GetString(pong.Payload));
            await raw.WriteAsync(RawClient.BuildFrame(0, text[2..15], fin: false));
            await raw.WriteAsync(RawClient.BuildFrame(10, "unasked pong"u8.ToArray()));
            await raw.WriteAsync(RawClient.BuildFrame(0, text[15..]));
            var echo = await raw.ReadFrameAsync();
            Assert.Equal((1, true), (echo.Opcode, echo.Fin));
            Assert.Equal(text, echo.Payload);

            // Lengths in the 16-bit and 64-bit forms, both ways; an empty message.
            foreach (var size in new[] { 126, 65_535, 65_536, 99_999, 0 })
            {
                var payload = new byte[size];
                new Random(size).NextBytes(payload);
                await raw.WriteAsync(RawClient.BuildFrame(2, payload));
                var back = await raw.ReadFrameAsync();
                Assert.Equal(2, back.Opcode);
                Assert.Equal(payload, back.Payload);
            }

            // A close frame without a status: $disconnect reports 1005, and the echo carries 1000 (1005 may not be sent).
            await raw.WriteAsync(RawClient.BuildFrame(8, []));
            Assert.Equal(CloseCodes.Normal, (await raw.ReadUntilCloseAsync()).CloseStatus);
            Assert.Equal(CloseCodes.NoStatus, (await host.Events.DisconnectOf(raw.Id)).StatusCode);
        }

        byte[] fragmentOpen = RawClient.BuildFrame(1, "ok "u8.ToArray(), fin: false);
        var faults = new (string Case, byte[][] Frames, int Expected)[]
        {
            ("an invalid code point in the last fragment", [fragmentOpen, RawClient.BuildFrame(0, [0x61, 0xF4, 0x90, 0x80, 0x80])], CloseCodes.InvalidPayload),
            ("a surrogate", [RawClient.BuildFrame(1, [0x61, 0xED, 0xA0, 0x80])], CloseCodes.InvalidPayload),
            ("an overlong form", [RawClient.BuildFrame(1, [0xE0, 0x80, 0xAF])], CloseCodes.InvalidPayload),
            ("a message ending inside a character", [fragmentOpen, RawClient.BuildFrame(0, [0xF0, 0x9F, 0x98], fin: false), RawClient.BuildFrame(0, [])], CloseCodes.InvalidPayload),
            ("a close reason that is not UTF-8", [RawClient.BuildFrame(8, [0x03, 0xE8, 0xC3, 0x28])], CloseCodes.InvalidPayload),
            ("an unmasked frame", [RawClient.BuildFrame(1, "hello"u8.ToArray(), masked: false)], CloseCodes.ProtocolError),
            ("RSV1 without a negotiated extension", [RawClient.BuildFrame(1, "hello"u8.ToArray(), firstByte: 0xC1)], CloseCodes.ProtocolError),
            ("a ping over 125 bytes", [RawClient.BuildFrame(9, new byte[126])], CloseCodes.ProtocolError),
            ("a one-byte close payload", [RawClient.BuildFrame(8, [0x03])], CloseCodes.ProtocolError),
            ("a close status that may not be sent", [RawClient.BuildFrame(8, [0x03, 0xED])], CloseCodes.ProtocolError),
            ("a close status in 1016-2999", [RawClient.BuildFrame(8, [0x07, 0xD0])], CloseCodes.ProtocolError),
            ("a continuation with no message", [RawClient.BuildFrame(0, "x"u8.ToArray())], CloseCodes.ProtocolError),
            ("a new message inside a fragmented one", [fragmentOpen, RawClient.BuildFrame(2, [1])], CloseCodes.ProtocolError),
            ("fragments over the limit", [RawClient.BuildFrame(2, new byte[60_000], fin: false), RawClient.BuildFrame(0, new byte[60_000])], CloseCodes.MessageTooBig),
        };

        foreach (var (name, frames, expected) in faults)
        {
            var raw = await host.ConnectRawAsync();
            var id = await raw.ReadConnectedAsync();
            foreach (var frame in frames)
            {
                await raw.WriteAsync(frame);
            }

            Assert.True(expected == (await raw.ReadUntilCloseAsync()).CloseStatus, $"{name}: the client was not closed with {expected}");

            // A close of the server's own (1009) waits for the client's answer: this client just goes.
            await raw.DisposeAsync();
            Assert.True(expected == (await host.Events.DisconnectOf(id)).StatusCode, $"{name}: $disconnect did not report {expected}");
        }
    }

    [Fact]
    public async Task A_message_over_the_limit_is_read_to_its_end_and_the_peer_close_then_answered()
    {
        await using var host = await StartAsync(throughKestrel: false);
        await using var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();

        // The close comes once the bytes pass the limit; the rest of the message is still read (and dropped), then
        // a ping is not answered any more (the close is sent) and the client's close ends the connection.
        await raw.WriteAsync(RawClient.BuildFrame(1, Encoding.ASCII.GetBytes(new string('a', MaxMessageBytes + 1)), fin: false));
        var close = await raw.ReadFrameAsync();
        Assert.Equal(CloseCodes.MessageTooBig, close.CloseStatus);
        await raw.WriteAsync(RawClient.BuildFrame(0, Encoding.ASCII.GetBytes(new string('b', 5000))));
        await raw.WriteAsync(RawClient.BuildFrame(9, [1, 2, 3]));
        await raw.WriteAsync(RawClient.BuildFrame(8, [0x03, 0xE8]));
        Assert.True(await raw.ReadToEndAsync());
        var e = await host.Events.DisconnectOf(id);
        Assert.Equal(CloseCodes.MessageTooBig, e.StatusCode);
    }

    private static Task<GatewayHost> StartAsync(bool throughKestrel) => GatewayHost.StartAsync(
        new Dictionary<string, string?> { ["Gateway:Connections:MaxMessageBytes"] = MaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        kestrel: throughKestrel ? k => k.Limits.MaxConcurrentUpgradedConnections = 1000 : null);
}
