using System.Buffers;
using System.Text;
using Gateway.Hosting;

namespace Gateway.Tests.Hosting;

public class HandshakeRequestHeadTests
{
    private const string Upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    private static readonly HandshakeRequestHead.HeadLimits Limits = new(1000, 2000, 20);

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n", null)]
    [InlineData("GET /prod HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n", "prod")]
    [InlineData("GET /Prod/?a=1 HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n", "prod")]
    [InlineData("GET / HTTP/1.1\r\nHost: gateway.example.com:8080\r\n" + Upgrade + "\r\n", null)]
    [InlineData("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n" + Upgrade + "\r\n", null)]
    public void A_plain_handshake_is_taken(string request, string? stage)
    {
        Assert.Equal(HeadVerdict.Handshake, Read(request, out var head, out var length));
        Assert.Equal(stage, head!.Stage);
        Assert.Equal(Encoding.ASCII.GetByteCount(request), length);
    }

    [Theory]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n")] // not GET
    [InlineData("GET / HTTP/1.0\r\nHost: a\r\n" + Upgrade + "\r\n")] // not HTTP/1.1
    [InlineData("GET /other HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n")] // not a gateway path
    [InlineData("GET /prod//x HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n")]
    [InlineData("GET /prod// HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n")]
    [InlineData("GET // HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n")]
    [InlineData("GET /%70rod HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n")] // encoded path: Kestrel decodes
    [InlineData("GET /  HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n")] // two spaces
    [InlineData("GET / HTTP/1.1\r\n" + Upgrade + "\r\n")] // no Host
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + Upgrade + "\r\n")] // two Hosts
    [InlineData("GET / HTTP/1.1\r\nHost: evil host/<script>@x\r\n" + Upgrade + "\r\n")] // not a host: Kestrel answers 400
    [InlineData("GET / HTTP/1.1\r\nHost: user@a\r\n" + Upgrade + "\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: \r\n" + Upgrade + "\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:port\r\n" + Upgrade + "\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a:1234567\r\n" + Upgrade + "\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: [zz::1]\r\n" + Upgrade + "\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" + Upgrade + "\r\n")] // a body
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" + Upgrade + "\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n" + Upgrade + "\r\n")] // obs-fold
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n" + Upgrade + "\r\n")] // space before the colon
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX-Bin: \u00e9\r\n" + Upgrade + "\r\n")] // not ASCII
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\u0001b\r\n" + Upgrade + "\r\n")] // a control character
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n")] // no upgrade: the gateway's 426 comes through Kestrel
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")] // HTTP/2 prior knowledge
    public void Anything_else_is_left_to_kestrel(string request) =>
        Assert.Equal(HeadVerdict.NotOurs, Read(request, out _, out _));

    [Fact]
    public void A_head_near_kestrels_limits_is_left_to_kestrel()
    {
        Assert.Equal(HeadVerdict.NotOurs, Read($"GET /?q={new string('a', 1000)} HTTP/1.1\r\nHost: a\r\n" + Upgrade + "\r\n", out _, out _));
        Assert.Equal(HeadVerdict.NotOurs, Read($"GET / HTTP/1.1\r\nHost: a\r\nX-Big: {new string('a', 2000)}\r\n" + Upgrade + "\r\n", out _, out _));
        var many = string.Concat(Enumerable.Range(0, 20).Select(i => $"X-{i}: v\r\n"));
        Assert.Equal(HeadVerdict.NotOurs, Read("GET / HTTP/1.1\r\nHost: a\r\n" + many + Upgrade + "\r\n", out _, out _));

        // Still arriving, and already past a limit: decided now, not after the rest.
        Assert.Equal(HeadVerdict.NotOurs, Read($"GET /?q={new string('a', 1000)}", out _, out _));
        Assert.Equal(HeadVerdict.NotOurs, Read($"GET / HTTP/1.1\r\nX-Big: {new string('a', 2000)}", out _, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("GE")]
    [InlineData("GET /prod HTTP/1.1")]
    [InlineData("GET /prod HTTP/1.1\r\nHost: a\r\n")]
    public void A_head_still_arriving_waits(string request) =>
        Assert.Equal(HeadVerdict.Incomplete, Read(request, out _, out _));

    [Fact]
    public void A_head_split_across_segments_is_read_whole_and_known_names_are_canonical()
    {
        var bytes = Encoding.ASCII.GetBytes("GET /prod?x=1 HTTP/1.1\r\nhost: a\r\nUSER-AGENT: ua\r\nx-Mine: 1\r\n" + Upgrade.ToLowerInvariant() + "\r\nrest");
        var first = new Segment(bytes.AsMemory(0, 30));
        var last = first.Append(bytes.AsMemory(30));
        var verdict = HandshakeRequestHead.TryRead(new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length), "prod", Limits, out var head, out var length);
        Assert.Equal(HeadVerdict.Handshake, verdict);
        Assert.Equal(bytes.Length - "rest".Length, length);
        Assert.Equal(["Host", "User-Agent", "x-Mine", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"], head!.Headers.Keys);
        Assert.Equal("?x=1", head.QueryString);
        Assert.Equal("/prod?x=1", head.RawTarget);
    }

    private static HeadVerdict Read(string request, out HandshakeRequestHead? head, out int length) =>
        HandshakeRequestHead.TryRead(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(request)), "prod", Limits, out head, out length);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
