using Gateway.LoadTest;

// Runs the bare baseline and the gateway alternately (A/B/A/B), each in a fresh process, and prints a
// markdown table: rates, server CPU per operation from /proc/<pid>/stat, the client's own CPU, latency.
var settings = Settings.Parse(args);
ServerUnderTest.GatewayEnvironment = settings.GatewayEnvironment;
var results = new List<RunResult>();
for (var round = 1; round <= settings.Rounds; round++)
{
    foreach (var target in settings.Targets)
    {
        await using var server = await ServerUnderTest.StartAsync(target, settings.BareApp, settings.Artifacts);
        var result = settings.Mode switch
        {
            "echo" => await EchoBench.RunAsync(server, round, settings),
            "push" => await PushBench.RunAsync(server, round, settings),
            "handshake" => await HandshakeBench.RunAsync(server, round, settings),
            "fanout" => await FanoutBench.RunAsync(server, round, settings),
            _ => await IdleBench.RunAsync(server, round, settings),
        };
        results.Add(result);
        Console.Error.WriteLine(Report.Row(settings.Mode, result));
    }
}

Console.WriteLine(Report.Table(settings, results));
return 0;
