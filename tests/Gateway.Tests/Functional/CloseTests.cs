using System.Net.WebSockets;
using System.Text;
using Gateway.Connections;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Functional;

/// <summary>Every way a connection ends, the close code the client sees, and the one <c>$disconnect</c> reports.</summary>
public class CloseTests
{
    [Theory]
    [InlineData(WebSocketCloseStatus.NormalClosure, "bye")]
    [InlineData((WebSocketCloseStatus)4001, "app-specific")]
    [InlineData(WebSocketCloseStatus.EndpointUnavailable, "")]
    public async Task A_client_close_is_echoed_and_reported_with_its_code(WebSocketCloseStatus status, string reason)
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var echoed = await client.CloseAsync(status, reason);
        Assert.Equal((int)status, echoed.CloseStatus);
        var e = await host.Events.DisconnectOf(client.Id);
        Assert.Equal((int)status, e.StatusCode);
        Assert.Equal(reason, e.Reason);
        await Wait.UntilAsync(() => host.Registry.Count == 0 && host.Registry.SlotsInUse == 0, "the connection is gone from the registry");
    }

    [Fact]
    public async Task A_lost_socket_is_reported_as_1006()
    {
        await using var host = await GatewayHost.StartAsync();
        var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();
        await raw.DisposeAsync();
        Assert.Equal(CloseCodes.Abnormal, (await host.Events.DisconnectOf(id)).StatusCode);
    }

    [Fact]
    public async Task A_disconnect_from_the_server_side_closes_with_the_given_code()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        Assert.True(await host.Sender.DisconnectAsync(client.Id));
        Assert.Equal(CloseCodes.Normal, (await client.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(CloseCodes.Normal, (await host.Events.DisconnectOf(client.Id)).StatusCode);
        Assert.False(await host.Sender.DisconnectAsync(client.Id));
        Assert.Equal(SendResult.Gone, await host.Sender.SendAsync(client.Id, OutboundMessage.Text("x"u8.ToArray())));
    }

    [Fact]
    public async Task A_reply_queued_before_a_close_is_still_written()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<ReplyThenClose>("quit"));
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"quit"}""");
        Assert.Equal("goodbye", await client.ReceiveTextAsync());
        Assert.Equal(4000, (await client.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(4000, (await host.Events.DisconnectOf(client.Id)).StatusCode);
    }

    [Fact]
    public async Task A_handler_waiting_on_ConnectionClosed_is_released_when_the_connection_closes()
    {
        await using var host = await GatewayHost.StartAsync(gateway: g => g.MapRoute<WaitForClose>("wait"));
        var handler = host.Services.GetRequiredService<WaitForClose>();
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("""{"action":"wait"}""");
        await handler.Entered.Task.WithTimeout();
        Assert.True(await host.Sender.DisconnectAsync(client.Id));
        await handler.Released.Task.WithTimeout();
        Assert.Equal(CloseCodes.Normal, (await host.Events.DisconnectOf(client.Id)).StatusCode);
        await Wait.UntilAsync(() => host.Registry.SlotsInUse == 0, "the slot is free");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(5000)]
    public async Task Close_codes_that_may_not_be_sent_are_refused(int status)
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await host.Sender.DisconnectAsync(client.Id, status));
        await client.SendTextAsync("unharmed");
        Assert.Equal("unharmed", await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task A_message_over_the_limit_closes_with_1009_whether_one_frame_or_fragmented()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:MaxMessageBytes"] = "1024" });
        await using (var ok = await host.ConnectAsync())
        {
            var exactly = new string('a', 1024);
            await ok.SendTextAsync(exactly);
            Assert.Equal(exactly, await ok.ReceiveTextAsync());
        }

        await using var single = await host.ConnectAsync();
        await single.SendTextAsync(new string('a', 1025));
        Assert.Equal(CloseCodes.MessageTooBig, (await single.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(CloseCodes.MessageTooBig, (await host.Events.DisconnectOf(single.Id)).StatusCode);

        await using var fragmented = await host.ConnectAsync();
        var chunk = Encoding.UTF8.GetBytes(new string('b', 400));
        for (var i = 0; i < 3; i++)
        {
            await fragmented.Socket.SendAsync(chunk, WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
        }

        Assert.Equal(CloseCodes.MessageTooBig, (await fragmented.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(CloseCodes.MessageTooBig, (await host.Events.DisconnectOf(fragmented.Id)).StatusCode);
    }

    [Fact]
    public async Task Fragmented_messages_within_the_limit_are_assembled()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var parts = new[] { "{\"action\":", "\"sendmessage\",", "\"x\":\"" + new string('z', 20_000) + "\"}" };
        for (var i = 0; i < parts.Length; i++)
        {
            await client.Socket.SendAsync(Encoding.UTF8.GetBytes(parts[i]), WebSocketMessageType.Text, i == parts.Length - 1, CancellationToken.None);
        }

        Assert.Equal(string.Concat(parts), await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task The_per_connection_message_cap_closes_with_1008()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:MaxMessagesPerConnection"] = "3" });
        await using var client = await host.ConnectAsync();
        for (var i = 0; i < 3; i++)
        {
            await client.SendTextAsync($"m{i}");
            Assert.Equal($"m{i}", await client.ReceiveTextAsync());
        }

        await client.SendTextAsync("one too many");
        Assert.Equal(CloseCodes.PolicyViolation, (await client.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(CloseCodes.PolicyViolation, (await host.Events.DisconnectOf(client.Id)).StatusCode);
    }

    [Fact]
    public async Task Binary_frames_close_with_1003_when_configured_to_be_rejected()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:BinaryFrames"] = "Reject" });
        await using var client = await host.ConnectAsync();
        await client.SendTextAsync("text is fine");
        Assert.Equal("text is fine", await client.ReceiveTextAsync());
        await client.SendAsync([1, 2, 3], WebSocketMessageType.Binary);
        Assert.Equal(CloseCodes.UnsupportedData, (await client.Closed.WithTimeout()).CloseStatus);
        Assert.Equal(CloseCodes.UnsupportedData, (await host.Events.DisconnectOf(client.Id)).StatusCode);
    }

    [Fact]
    public async Task Invalid_utf8_in_a_text_message_closes_with_1007_even_split_across_fragments()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();
        await raw.SendFrameAsync(1, [0x68, 0x69, 0xC3], fin: false); // "hi" + the first byte of a two-byte sequence
        await raw.SendFrameAsync(0, [0x28]); // not a continuation byte
        Assert.Equal(CloseCodes.InvalidPayload, (await raw.ReadUntilCloseAsync()).CloseStatus);
        Assert.Equal(CloseCodes.InvalidPayload, (await host.Events.DisconnectOf(id)).StatusCode);
    }

    [Theory]
    [InlineData(0xC1)] // RSV1 set without an extension
    [InlineData(0x83)] // reserved opcode 3
    [InlineData(0x09)] // fragmented ping (FIN clear on a control frame)
    public async Task Protocol_violations_close_with_1002(int firstByte)
    {
        await using var host = await GatewayHost.StartAsync();
        await using var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();
        await raw.WriteAsync(RawClient.BuildFrame(0, "x"u8.ToArray(), firstByte: firstByte));
        Assert.Equal(CloseCodes.ProtocolError, (await raw.ReadUntilCloseAsync()).CloseStatus);
        Assert.Equal(CloseCodes.ProtocolError, (await host.Events.DisconnectOf(id)).StatusCode);
    }

    [Fact]
    public async Task An_unmasked_client_frame_closes_with_1002()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var raw = await host.ConnectRawAsync();
        var id = await raw.ReadConnectedAsync();
        await raw.WriteAsync(RawClient.BuildFrame(1, "unmasked"u8.ToArray(), masked: false));
        Assert.Equal(CloseCodes.ProtocolError, (await raw.ReadUntilCloseAsync()).CloseStatus);
        Assert.Equal(CloseCodes.ProtocolError, (await host.Events.DisconnectOf(id)).StatusCode);
    }

    [Theory]
    [InlineData(CloseCodes.InvalidPayload)]
    [InlineData(CloseCodes.ProtocolError)]
    public async Task A_protocol_error_while_replies_are_still_queued_is_closed_with_its_code_not_dropped(int expected)
    {
        await using var host = await GatewayHost.StartAsync();
        for (var round = 0; round < 10; round++)
        {
            // A client that reads slowly: the echoes of its messages are still being written when its bad frame arrives.
            await using var raw = await host.ConnectRawAsync(receiveBufferSize: 4096);
            var id = await raw.ReadConnectedAsync();
            var frames = new List<byte>();
            for (var i = 0; i < 20; i++)
            {
                frames.AddRange(RawClient.BuildFrame(1, Encoding.UTF8.GetBytes(new string('x', 32_000))));
            }

            frames.AddRange(expected == CloseCodes.InvalidPayload ? RawClient.BuildFrame(1, [0xFF]) : RawClient.BuildFrame(3, [0xFF]));
            await raw.WriteAsync([.. frames]);
            var close = await raw.ReadUntilCloseAsync();
            Assert.True(close.Opcode == 8, $"round {round}: the socket ended without a close frame");
            Assert.Equal(expected, close.CloseStatus);
            Assert.Equal(expected, (await host.Events.DisconnectOf(id)).StatusCode);
        }
    }

    [Fact]
    public async Task Other_clients_are_untouched_by_one_that_misbehaves()
    {
        await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { ["Gateway:Connections:MaxMessageBytes"] = "1024" });
        await using var good = await host.ConnectAsync();
        await using var bad = await host.ConnectRawAsync();
        var badId = await bad.ReadConnectedAsync();
        await bad.SendFrameAsync(1, [0xFF, 0xFE]);
        await host.Events.DisconnectOf(badId);
        await using var big = await host.ConnectAsync();
        await big.SendTextAsync(new string('x', 5000));
        await host.Events.DisconnectOf(big.Id);
        await good.SendTextAsync("still fine");
        Assert.Equal("still fine", await good.ReceiveTextAsync());
    }

    [Fact]
    public async Task Shutdown_closes_every_client_with_1001_and_runs_their_disconnects_before_exit()
    {
        var host = await GatewayHost.StartAsync();
        var recorder = host.Events;
        var clients = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => host.ConnectAsync()));
        await host.DisposeAsync();
        foreach (var client in clients)
        {
            Assert.Equal(CloseCodes.GoingAway, (await client.Closed.WithTimeout()).CloseStatus);
            Assert.Contains(recorder.All, e => e.ConnectionId == client.Id && e.StatusCode == CloseCodes.GoingAway);
            await client.DisposeAsync();
        }
    }

    public sealed class ReplyThenClose : Gateway.Routing.IGatewayRouteHandler
    {
        public ValueTask<Gateway.Routing.RouteResult> HandleAsync(Gateway.Routing.GatewayRouteContext context)
        {
            context.Reply("goodbye");
            context.Connection.Close(4000, "asked to quit");
            return ValueTask.FromResult(Gateway.Routing.RouteResult.Ok);
        }
    }

    public sealed class WaitForClose : Gateway.Routing.IGatewayRouteHandler
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<Gateway.Routing.RouteResult> HandleAsync(Gateway.Routing.GatewayRouteContext context)
        {
            Entered.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, context.ConnectionClosed);
            }
            catch (OperationCanceledException)
            {
                Released.TrySetResult();
            }

            return Gateway.Routing.RouteResult.Ok;
        }
    }
}
