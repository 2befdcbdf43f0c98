using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Gateway.Backplane;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.ScaleOut;

/// <summary>
/// The listening side of the direct link between nodes, spoken to over real loopback sockets as another node speaks:
/// each link is read on a thread of its own, so a delivery that blocks holds up only its own link; the answers a read
/// makes leave together from that thread; links opening at once are bounded; and stopping the link ends its threads.
/// </summary>
public sealed class NodeLinkReaderTests
{
    private const string Secret = "the-cluster-link-secret";
    private const string Self = "node-self";

    [Fact]
    public async Task Frames_are_read_on_a_thread_of_the_link_s_own_which_ends_when_the_link_stops()
    {
        var receiver = new Receiver();
        var link = Start(receiver);
        using var peer = await Peer.OpenAsync(link, "node-a");
        peer.Socket.ReceiveTimeout = 10_000;
        peer.Send([1], [2, 2], [3, 3, 3]);
        await Wait.UntilAsync(() => receiver.Frames.Count == 3, "the three frames were delivered");

        Assert.Equal([[1], [2, 2], [3, 3, 3]], receiver.Frames.Select(f => f.Bytes));
        var reader = Assert.Single(receiver.Frames.Select(f => f.Thread).Distinct());
        Assert.False(reader.IsThreadPoolThread);
        Assert.True(reader.IsBackground);

        // Stopping the link ends the read its thread is blocked in, closes the socket, and the thread returns.
        await link.DisposeAsync();
        Assert.True(reader.Join(TimeSpan.FromSeconds(10)), "the reading thread ended");
        Assert.Equal(0, peer.Socket.Receive(new byte[1]));
    }

    [Fact]
    public async Task A_delivery_that_blocks_holds_up_only_its_own_link()
    {
        using var release = new ManualResetEventSlim();
        var receiver = new Receiver(frame =>
        {
            // Frames from node A wait here, on A's reading thread, until released.
            if (frame[0] == (byte)'a')
            {
                release.Wait(TimeSpan.FromSeconds(30));
            }
        });
        await using var link = Start(receiver);
        using var a = await Peer.OpenAsync(link, "node-a");
        using var b = await Peer.OpenAsync(link, "node-b");

        a.Send("a1"u8.ToArray(), "a2"u8.ToArray());
        await Wait.UntilAsync(() => receiver.Frames.Count == 1, "node A's first frame is being delivered");
        for (var i = 0; i < 5; i++)
        {
            b.Send([(byte)'b', (byte)('0' + i)]);
        }

        await Wait.UntilAsync(() => receiver.Frames.Count == 6, "node B's frames were delivered while A's delivery blocked");
        Assert.Equal(["a1", "b0", "b1", "b2", "b3", "b4"], receiver.Frames.Select(f => Encoding.ASCII.GetString(f.Bytes)));

        release.Set();
        await Wait.UntilAsync(() => receiver.Frames.Count == 7, "node A's second frame followed once its delivery returned");
        Assert.Equal("a2", Encoding.ASCII.GetString(receiver.Frames.Last().Bytes));
    }

    [Fact]
    public async Task The_answers_made_while_a_read_is_handed_on_leave_together_from_the_reading_thread()
    {
        var published = new ConcurrentQueue<(byte[] Bytes, Thread Thread)>();
        var scheduled = 0;
        var answers = new DirectedOutbox(
            (_, bytes) =>
            {
                published.Enqueue((bytes, Thread.CurrentThread));
                return Task.FromResult(1L);
            },
            _ => true,
            _ => Interlocked.Increment(ref scheduled));
        var receiver = new Receiver(frame => answers.Enqueue("node-a", [.. frame, 0xAA]));
        await using var link = Start(receiver);
        using var peer = await Peer.OpenAsync(link, "node-a");

        // Three requests in one write, read at once: their three answers go in one publish, made by the reading
        // thread once the third is carried out; no flush is scheduled on the thread pool.
        peer.Send([1], [2], [3]);
        await Wait.UntilAsync(() => !published.IsEmpty, "the answers were published");

        var (bytes, thread) = Assert.Single(published);
        Assert.Equal([[1, 0xAA], [2, 0xAA], [3, 0xAA]], DirectedOutbox.Split(bytes).Select(s => s.ToArray()));
        Assert.Same(receiver.Frames.First().Thread, thread);
        Assert.Equal(0, Volatile.Read(ref scheduled));
    }

    [Fact]
    public async Task Links_opening_at_once_are_bounded_and_a_handshake_ends_at_its_deadline()
    {
        var receiver = new Receiver();
        var log = new RecordingLogger<NodeLink>();
        var time = new FakeTimeProvider();
        await using var link = Start(receiver, log, time);
        var port = Port(link);

        // Thirty-two connections that never answer the hello hold every handshake; the next is closed at once.
        var silent = new List<Socket>();
        try
        {
            for (var i = 0; i < 32; i++)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port);
                silent.Add(socket);
            }

            using (var extra = new Socket(SocketType.Stream, ProtocolType.Tcp))
            {
                await extra.ConnectAsync(IPAddress.Loopback, port);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                Assert.Equal(0, await extra.ReceiveAsync(new byte[64], timeout.Token));
            }

            Assert.Contains(log.Of(1613), m => m.Contains("more than 32 links are being opened", StringComparison.Ordinal));

            // Each has its hello (sent once its handshake's clock runs).
            foreach (var socket in silent)
            {
                await ReceiveExactlyAsync(socket, new byte[36]);
            }

            // A handshake has 5 s in all, however it spends them: one of them sends a byte of its answer now and then.
            time.Advance(TimeSpan.FromSeconds(3));
            await silent[0].SendAsync(new byte[] { 5 });
            time.Advance(TimeSpan.FromSeconds(1.9));
            Assert.Equal(1, await silent[0].SendAsync(new byte[] { 0 }));

            // At 5 s every one of them is shut: each reads the end of the stream.
            time.Advance(TimeSpan.FromSeconds(0.1));
            foreach (var socket in silent)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                Assert.Equal(0, await socket.ReceiveAsync(new byte[64], timeout.Token));
            }
        }
        finally
        {
            foreach (var socket in silent)
            {
                socket.Dispose();
            }
        }

        // Ended, they give their places back: a node's link is accepted again and carries its frames.
        Peer? peer = null;
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    peer = await Peer.OpenAsync(link, "node-a");
                    return true;
                }
                catch (IOException)
                {
                    return false;
                }
            },
            "a link was accepted once the silent connections closed");
        using (peer)
        {
            peer!.Send([7]);
            await Wait.UntilAsync(() => receiver.Frames.Count == 1, "the frame was delivered");
        }
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] into)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var read = 0; read < into.Length;)
        {
            var got = await socket.ReceiveAsync(into.AsMemory(read), timeout.Token);
            read += got > 0 ? got : throw new IOException("closed early");
        }
    }

    private static NodeLink Start(Receiver receiver, RecordingLogger<NodeLink>? log = null, TimeProvider? time = null)
    {
        var link = new NodeLink(Options.Create(new NodeLinkOptions { Listen = "127.0.0.1:0", Secret = Secret }), log ?? new RecordingLogger<NodeLink>(), time: time);
        link.Start(Self, receiver, new InMemoryBackplaneTransport(new InMemoryBackplaneNetwork()));
        return link;
    }

    private static int Port(NodeLink link) => int.Parse(link.Advertised![(link.Advertised!.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Another node's end of a link: the handshake as a node makes it, then length-prefixed frames.</summary>
    private sealed class Peer(Socket socket) : IDisposable
    {
        public Socket Socket { get; } = socket;

        public static async Task<Peer> OpenAsync(NodeLink link, string from)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await socket.ConnectAsync(IPAddress.Loopback, Port(link), timeout.Token);
                var hello = new byte[4 + 32];
                var read = 0;
                while (read < hello.Length)
                {
                    var got = await socket.ReceiveAsync(hello.AsMemory(read), timeout.Token);
                    read += got > 0 ? got : throw new IOException("the link closed during its hello");
                }

                Assert.Equal("GWL1"u8.ToArray(), hello[..4]);
                var fromBytes = Encoding.UTF8.GetBytes(from);
                var toBytes = Encoding.UTF8.GetBytes(Self);
                var signed = new byte[32 + fromBytes.Length + 1 + toBytes.Length];
                hello.AsSpan(4).CopyTo(signed);
                fromBytes.CopyTo(signed, 32);
                signed[32 + fromBytes.Length] = (byte)'\n';
                toBytes.CopyTo(signed, 33 + fromBytes.Length);
                var answer = new List<byte>();
                answer.AddRange(BitConverter.GetBytes((ushort)fromBytes.Length));
                answer.AddRange(fromBytes);
                answer.AddRange(BitConverter.GetBytes((ushort)toBytes.Length));
                answer.AddRange(toBytes);
                answer.AddRange(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), signed));
                await socket.SendAsync(answer.ToArray(), timeout.Token);
                var accepted = new byte[1];
                if (await socket.ReceiveAsync(accepted, timeout.Token) != 1 || accepted[0] != 1)
                {
                    throw new IOException("the link was not accepted");
                }

                return new Peer(socket);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        /// <summary>Writes the frames in one write.</summary>
        public void Send(params byte[][] frames)
        {
            var bytes = new byte[frames.Sum(f => 4 + f.Length)];
            var at = 0;
            foreach (var frame in frames)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), frame.Length);
                frame.CopyTo(bytes, at + 4);
                at += 4 + frame.Length;
            }

            Assert.Equal(bytes.Length, Socket.Send(bytes));
        }

        public void Dispose() => Socket.Dispose();
    }

    private sealed class Receiver(Action<byte[]>? onFrame = null) : IBackplaneReceiver
    {
        public ConcurrentQueue<(byte[] Bytes, Thread Thread)> Frames { get; } = new();

        public void OnMessage(byte[] message)
        {
            Frames.Enqueue((message, Thread.CurrentThread));
            onFrame?.Invoke(message);
        }

        public void OnSharedEvent(SharedTopicEvent sharedEvent)
        {
        }

        public void OnBusEvent(BusEvent busEvent)
        {
        }

        public void OnBusEventRefused(string topic, string reason)
        {
        }

        public void OnReconnected()
        {
        }
    }
}
