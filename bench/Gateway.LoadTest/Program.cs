using Gateway.LoadTest;

// Runs the bare baseline and the gateway alternately (A/B/A/B), each in a fresh process, and prints a
// markdown table: rates, server CPU per operation from /proc/<pid>/stat, the client's own CPU, latency.
// `hold <url> <count> <sources> frame|noframe deflate|plain h2|h1`: a helper process of the idle benchmark that holds some of the
// connections, since one process may not open more sockets than its open-files limit allows (deflate: offering
// permessage-deflate; h2: as HTTP/2 streams).
if (args is ["hold", var holdUrl, var holdCount, var holdSources, var holdFrame, var holdDeflate, var holdProtocol])
{
    BenchClient.OfferDeflate = holdDeflate == "deflate";
    BenchClient.Http2 = holdProtocol == "h2";
    BenchClient.SourceAddresses = int.Parse(holdSources, System.Globalization.CultureInfo.InvariantCulture);
    var held = await BenchClient.ConnectManyAsync(new Uri(holdUrl), int.Parse(holdCount, System.Globalization.CultureInfo.InvariantCulture), readConnectedFrame: holdFrame == "frame");
    var answering = held.Select(async c =>
    {
        try
        {
            while ((await c.Socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None)).MessageType != System.Net.WebSockets.WebSocketMessageType.Close)
            {
            }
        }
        catch (System.Net.WebSockets.WebSocketException)
        {
        }
    }).ToList();
    Console.WriteLine("ready");
    await Console.In.ReadToEndAsync(); // until the parent closes our standard input
    foreach (var client in held)
    {
        client.Dispose();
    }

    return 0;
}

// `cluster-hold <url> <count> <first index> <topics> <source addresses>`: a load process of the cluster benchmark.
if (args is ["cluster-hold", var clusterUrl, var clusterCount, var clusterFirst, var clusterTopics, var clusterSources])
{
    return await ClusterLoad.RunAsync(clusterUrl, int.Parse(clusterCount, System.Globalization.CultureInfo.InvariantCulture),
        int.Parse(clusterFirst, System.Globalization.CultureInfo.InvariantCulture), int.Parse(clusterTopics, System.Globalization.CultureInfo.InvariantCulture), clusterSources.Split(','));
}

var settings = Settings.Parse(args);
if (settings.Mode == "cluster")
{
    // Every engine in the same run, one after the other (100,000 connections are not opened again per round: the
    // rounds repeat the deliveries on the same connections).
    ServerUnderTest.GatewayEnvironment = settings.GatewayEnvironment;
    var clusters = new List<ClusterResult>();
    for (var t = 0; t < settings.Targets.Length; t++)
    {
        await using var cluster = await ServerUnderTest.StartAsync(settings.Targets[t], settings.BareApp, settings.Artifacts);
        clusters.Add(await ClusterBench.RunAsync(cluster, t, settings));
    }

    Console.WriteLine(ClusterBench.Table(clusters));
    return 0;
}
if (settings.Mode == "soak")
{
    BenchClient.SourceAddresses = settings.Sources;
    await using var soaked = await ServerUnderTest.StartAsync(Target.Gateway, settings.BareApp, settings.Artifacts);
    return await SoakBench.RunAsync(soaked, settings);
}

ServerUnderTest.GatewayEnvironment = settings.Mode switch
{
    "presence" => PresenceBench.Environment(settings.Connections).Concat(settings.GatewayEnvironment).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value),
    "resume" => ResumeBench.Environment().Concat(settings.GatewayEnvironment).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value),
    _ => settings.GatewayEnvironment,
};
if (settings.Mode == "resume")
{
    Console.WriteLine(ResumeBench.Header);
}

BenchClient.SourceAddresses = settings.Sources;
BenchClient.OfferDeflate = settings.Deflate;
var results = new List<RunResult>();
for (var round = 1; round <= settings.Rounds; round++)
{
    foreach (var target in settings.Targets)
    {
        await using var server = await ServerUnderTest.StartAsync(target, settings.BareApp, settings.Artifacts);
        BenchClient.Http2 = target == Target.GatewayH2;
        if (settings.Mode == "resume")
        {
            await ResumeBench.RunAsync(server, round, settings);
            continue;
        }

        if (settings.Mode is "batch" or "users" or "presence")
        {
            var forms = settings.Mode switch
            {
                "batch" => await BatchBench.RunAsync(server, round, settings),
                "users" => await UsersBench.RunAsync(server, round, settings),
                _ => await PresenceBench.RunAsync(server, round, settings),
            };
            foreach (var form in forms)
            {
                results.Add(form);
                Console.Error.WriteLine(Report.Row(settings.Mode, form));
            }

            continue;
        }

        var result = settings.Mode switch
        {
            "echo" => await EchoBench.RunAsync(server, round, settings),
            "push" => await PushBench.RunAsync(server, round, settings),
            "handshake" => await HandshakeBench.RunAsync(server, round, settings),
            // The fan-out's baseline is the bare echo's message rate, measured with 100 connections in the same run.
            "fanout" when target == Target.Bare => await EchoBench.RunAsync(server, round, settings with { Connections = 100 }),
            "fanout" => await FanoutBench.RunAsync(server, round, settings),
            _ => await IdleBench.RunAsync(server, round, settings),
        };
        results.Add(result);
        Console.Error.WriteLine(Report.Row(settings.Mode, result));
    }
}

if (settings.Mode != "resume")
{
    Console.WriteLine(Report.Table(settings, results));
}

return 0;
