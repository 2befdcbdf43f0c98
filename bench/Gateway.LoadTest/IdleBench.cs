namespace Gateway.LoadTest;

/// <summary>N connections handshaken, registered and answering pings; server memory per connection after a full GC.</summary>
public static class IdleBench
{
    public static async Task<RunResult> RunAsync(ServerUnderTest server, int round, Settings settings)
    {
        await server.ForceGcAsync();
        var before = server.RssBytes();
        var cpu0 = server.CpuTime();
        // Past 10,000 connections, helper processes hold all but 10,000 of them: each process's open-files limit counts
        // its sockets (the benchmark's machine allows 20,000 per process), and the server needs as many of its own.
        const int PerProcess = 10_000;
        var helpers = new List<System.Diagnostics.Process>();
        for (var rest = settings.Connections - PerProcess; rest > 0; rest -= PerProcess)
        {
            var info = new System.Diagnostics.ProcessStartInfo("dotnet", [typeof(IdleBench).Assembly.Location, "hold", server.ClientUri.ToString(),
                Math.Min(rest, PerProcess).ToString(System.Globalization.CultureInfo.InvariantCulture), settings.Sources.ToString(System.Globalization.CultureInfo.InvariantCulture),
                server.SendsConnectedFrame ? "frame" : "noframe", BenchClient.OfferDeflate ? "deflate" : "plain", BenchClient.Http2 ? "h2" : "h1"])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            };
            var helper = System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException("could not start a helper");
            helpers.Add(helper);
            if (await helper.StandardOutput.ReadLineAsync() != "ready")
            {
                throw new InvalidOperationException("a helper could not hold its connections");
            }
        }

        if (server.Target == Target.GatewaySse)
        {
            return await RunSseAsync(server, round, settings, before, cpu0);
        }

        var clients = await BenchClient.ConnectManyAsync(server.ClientUri, Math.Min(settings.Connections, PerProcess), server.SendsConnectedFrame);
        var cpu = server.CpuTime() - cpu0;

        // A pending receive on every client, so that pings from the server are answered.
        using var cts = new CancellationTokenSource();
        var receivers = clients.Select(async c =>
        {
            try
            {
                // A zero-byte read: pings are answered by the socket layer, and idle clients hold no buffer.
                while ((await c.Socket.ReceiveAsync(Memory<byte>.Empty, cts.Token)).MessageType != System.Net.WebSockets.WebSocketMessageType.Close)
                {
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

        foreach (var helper in helpers)
        {
            helper.StandardInput.Close();
            await helper.WaitForExitAsync();
            helper.Dispose();
        }

        return new RunResult(server.Target, round, settings.Connections, 0, settings.Connections, cpu, TimeSpan.Zero, new Latency(),
            BytesPerConnection: (after - before) / (double)settings.Connections);
    }

    /// <summary>The same with event-stream clients (at most 10,000: no helper processes), each with a read pending.</summary>
    private static async Task<RunResult> RunSseAsync(ServerUnderTest server, int round, Settings settings, long before, TimeSpan cpu0)
    {
        var count = Math.Min(settings.Connections, 10_000);
        var clients = await SseBenchClient.ConnectManyAsync(server.ClientUri, count);
        var cpu = server.CpuTime() - cpu0;
        using var cts = new CancellationTokenSource();
        var readers = clients.Select(async c =>
        {
            try
            {
                while (true)
                {
                    await c.ReceiveAsync(cts.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
            }
        }).ToList();
        await Task.Delay(settings.Warmup);
        await server.ForceGcAsync();
        var after = server.RssBytes();
        await cts.CancelAsync();
        foreach (var client in clients)
        {
            client.Dispose();
        }

        await Task.WhenAll(readers);
        return new RunResult(server.Target, round, count, 0, count, cpu, TimeSpan.Zero, new Latency(),
            BytesPerConnection: (after - before) / (double)count);
    }
}
