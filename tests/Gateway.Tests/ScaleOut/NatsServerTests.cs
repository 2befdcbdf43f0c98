using System.Text;
using Gateway.Tests.Backplane;
using Gateway.Tests.Infrastructure;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Gateway.Tests.ScaleOut;

/// <summary>The NATS fixtures themselves: real nats-server processes a NATS.Net client works with, killed and started again.</summary>
[Collection(SerialProcesses.Name)]
public sealed class NatsServerTests(SharedNatsServer server, SharedNatsCluster cluster) : IClassFixture<SharedNatsServer>, IClassFixture<SharedNatsCluster>
{
    [Fact]
    public async Task A_published_message_reaches_a_wildcard_subscriber_with_its_headers()
    {
        await using var nats = await ConnectAsync(server.Server.Url);
        var prefix = $"smoke.{Guid.NewGuid():N}";
        await using var subscription = await nats.SubscribeCoreAsync<string>(prefix + ".>");
        await nats.PublishAsync(prefix + ".conversation:conv-123", "hello", headers: new NatsHeaders { ["id"] = "1" });

        var message = await subscription.Msgs.ReadAsync().AsTask().WithTimeout();
        Assert.Equal(prefix + ".conversation:conv-123", message.Subject);
        Assert.Equal("hello", message.Data);
        Assert.Equal("1", message.Headers?["id"].ToString());
    }

    [Fact]
    public async Task A_stream_keeps_its_messages_when_the_server_is_killed_and_started_again()
    {
        var stream = "SMOKE_" + Guid.NewGuid().ToString("N");
        await using (var nats = await ConnectAsync(server.Server.Url))
        {
            var js = new NatsJSContext(nats);
            await js.CreateStreamAsync(new StreamConfig(stream, [stream + ".>"]) { Storage = StreamConfigStorage.File });
            (await js.PublishAsync(stream + ".a", "kept")).EnsureSuccess();
        }

        await server.Server.StopAsync();
        Assert.False(await NatsProcess.AcceptsClientsAsync(server.Server.Port));
        await server.Server.StartAgainAsync();

        await using var again = await ConnectAsync(server.Server.Url);
        Assert.Equal("kept", await ReadAsync(new NatsJSContext(again), stream, 1));
    }

    [Fact]
    public async Task A_replicated_stream_keeps_an_acknowledged_message_when_a_server_is_killed()
    {
        var nodes = cluster.Cluster;
        var stream = "SMOKE_" + Guid.NewGuid().ToString("N");
        await using (var nats = await ConnectAsync(nodes.Urls))
        {
            var js = new NatsJSContext(nats);
            var created = await js.CreateStreamAsync(new StreamConfig(stream, [stream + ".>"]) { NumReplicas = 3 });
            Assert.Equal(3, created.Info.Config.NumReplicas);
            (await js.PublishAsync(stream + ".a", "before")).EnsureSuccess();
        }

        await nodes.KillAsync(0);
        try
        {
            // Read from the two that are left, once they have a leader for the stream (at once, or after an election).
            await using var others = await ConnectAsync(string.Join(',', nodes.Url(1), nodes.Url(2)));
            var js = new NatsJSContext(others);
            Assert.Equal("before", await ReadAsync(js, stream, 1));

            // Two of three are a quorum: the stream takes new messages as well.
            (await js.PublishAsync(stream + ".b", "during")).EnsureSuccess();
        }
        finally
        {
            await nodes.StartAgainAsync(0);
        }

        // The server started again catches up: every replica current, and both messages there.
        await using var first = await ConnectAsync(nodes.Url(0));
        var context = new NatsJSContext(first);
        await Wait.UntilAsync(async () =>
        {
            var info = (await context.GetStreamAsync(stream)).Info;
            return info.Cluster?.Replicas is { Count: 2 } replicas && replicas.All(r => r.Current && !r.Offline);
        }, "every replica of the stream was current", TimeSpan.FromSeconds(30));
        Assert.Equal("before", await ReadAsync(context, stream, 1));
        Assert.Equal("during", await ReadAsync(context, stream, 2));
    }

    private static async Task<NatsConnection> ConnectAsync(string url)
    {
        var nats = new NatsConnection(new NatsOpts { Url = url, RequestTimeout = TimeSpan.FromSeconds(2) });
        await nats.ConnectAsync();
        return nats;
    }

    private static async Task<string> ReadAsync(NatsJSContext js, string stream, ulong sequence)
    {
        StoredMessage? stored = null;
        await Wait.UntilAsync(async () =>
        {
            try
            {
                stored = (await (await js.GetStreamAsync(stream)).GetAsync(new StreamMsgGetRequest { Seq = sequence })).Message;
                return true;
            }
            catch (NatsException)
            {
                // No leader for the stream yet.
                return false;
            }
        }, $"message {sequence} of {stream} could be read", TimeSpan.FromSeconds(30));
        return Encoding.UTF8.GetString(stored!.Data.Span);
    }
}
