namespace Gateway.LoadTest;

/// <summary>N connections handshaken, registered and answering pings; server memory per connection after a full GC.</summary>
public static class IdleBench
{
    public static async Task<RunResult> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        await server.ForceGcAsync();
        var before = server.RssBytes();
        var cpu0 = server.CpuTime();
        var clients = await BenchClient.ConnectManyAsync(server.ClientUri, settings.Connections, server.SendsConnectedFrame);
        var cpu = server.CpuTime() - cpu0;

        // A pending receive on every client, so that pings from the server are answered.
        using var cts = new CancellationTokenSource();
        var receivers = clients.Select(async c =>
        {
            try
            {
                while (true)
                {
                    await c.ReceiveAsync(cts.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException)
            {
            }
        }).ToList();
        await Task.Delay(settings.Warmup);
        await server.ForceGcAsync();
        var after = server.RssBytes();
        await cts.CancelAsync();
        await Task.WhenAll(receivers);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        return new RunResult(server.Target, round, settings.Connections, 0, settings.Connections, cpu, TimeSpan.Zero, new Latency(),
            BytesPerConnection: (after - before) / (double)settings.Connections);
    }
}
