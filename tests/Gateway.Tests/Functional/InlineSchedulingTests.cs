using Gateway.Routing;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Functional;

/// <summary>
/// Socket reads continue on the thread that completed them (<c>Listeners:InlineScheduling</c>, on by default). A handler
/// that blocks its thread must still hold only its own connection: every other socket keeps being read and written.
/// </summary>
public class InlineSchedulingTests
{
    [Fact]
    public async Task Inline_scheduling_is_the_default_and_can_be_turned_off()
    {
        await using (var host = await GatewayHost.StartAsync())
        {
            Assert.True(host.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
        }

        await using var off = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Listeners:InlineScheduling"] = "false" });
        Assert.False(off.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
        await using var client = await off.ConnectAsync();
        await client.SendTextAsync("still served");
        Assert.Equal("still served", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task The_management_listener_keeps_the_hand_off_while_client_sockets_continue_inline()
    {
        await using var host = await GatewayHost.StartAsync();

        // The transport Kestrel binds with is the last one registered: the one that splits the listeners.
        var transport = host.Services.GetServices<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>().Last();
        Assert.Equal("SplitSocketTransport", transport.GetType().Name);
        var factories = transport.GetType().GetFields(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)
            .Select(f => f.GetValue(transport)).OfType<SocketTransportFactory>().Distinct().Count();
        Assert.Equal(2, factories);

        // Both listeners serve: a push through the management API reaches a client on the client listener.
        await using var client = await host.ConnectAsync();
        using var http = new HttpClient();
        var pushed = await http.PostAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/@connections/{client.Id}"), new StringContent("through both"));
        Assert.Equal(System.Net.HttpStatusCode.OK, pushed.StatusCode);
        Assert.Equal("through both", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Handlers_that_block_their_threads_stall_no_other_connection()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<BlockingHandler>("block"));
        var blocking = host.Services.GetRequiredService<BlockingHandler>();
        var others = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => host.ConnectAsync()));
        var blocked = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => host.ConnectAsync()));
        try
        {
            // Three handlers hold three threads (more than this machine has cores) without ever yielding them.
            foreach (var client in blocked)
            {
                await client.SendTextAsync("""{"action":"block"}""");
            }

            await blocking.AllEntered(3).WithTimeout();

            // Every other connection still gets its echo, several times over, and new clients still get in.
            for (var i = 0; i < 3; i++)
            {
                await Task.WhenAll(others.Select(c => c.SendTextAsync($"ping {i}")));
                var answers = await Task.WhenAll(others.Select(c => c.ReceiveTextAsync()));
                Assert.All(answers, a => Assert.Equal($"ping {i}", a));
            }

            await using var late = await host.ConnectAsync();
            await late.SendTextAsync("late");
            Assert.Equal("late", await late.ReceiveTextAsync());
            Assert.Equal(3, blocking.Inside);
        }
        finally
        {
            blocking.Release.Set();
        }

        // Released, the blocked connections carry on where they were.
        foreach (var client in blocked)
        {
            Assert.Equal("unblocked", await client.ReceiveTextAsync());
            await client.SendTextAsync("after");
            Assert.Equal("after", await client.ReceiveTextAsync());
        }

        foreach (var client in others.Concat(blocked))
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>A handler that blocks its thread synchronously until released, the way a careless integration would.</summary>
    public sealed class BlockingHandler : IGatewayRouteHandler, IDisposable
    {
        private int _inside;

        public ManualResetEventSlim Release { get; } = new();

        public int Inside => Volatile.Read(ref _inside);

        public async Task AllEntered(int count)
        {
            while (Inside < count)
            {
                await Task.Delay(5);
            }
        }

        public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
        {
            Interlocked.Increment(ref _inside);
            Release.Wait(TimeSpan.FromSeconds(30));
            Interlocked.Decrement(ref _inside);
            return ValueTask.FromResult(RouteResult.Reply("unblocked"u8.ToArray()));
        }

        public void Dispose() => Release.Dispose();
    }
}
