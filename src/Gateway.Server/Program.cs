using Gateway.Server;

// `Gateway.Server --help`: how to run it, without starting it.
if (Usage.IsRequested(args))
{
    await Console.Out.WriteAsync(Usage.Text);
    return 0;
}

// `Gateway.Server healthcheck <url>`: the container's health check, without curl in the image.
if (args is ["healthcheck", var probeUrl])
{
    return await HealthCheck.RunAsync(new Uri(probeUrl));
}

WebApplication app;
System.Runtime.InteropServices.PosixSignalRegistration? reloadSignal = null;
try
{
    // The content root is the server's own folder, wherever it is started from (a systemd unit, a script, `dotnet run`),
    // so that its appsettings.json is always read; relative paths a user gives are resolved against the current directory.
    var builder = WebApplication.CreateBuilder(ServerFolder.Options(args));
    builder.Configuration.AddSettingsFile();
    builder.Configuration.AddDefaultRoutes();
    builder.Services.AddGatewayLogging(builder.Configuration);
    builder.Services.AddGatewayTelemetry(builder.Configuration);
    builder.WebHost.UseGatewayListeners(builder.Services);

    // Kestrel:Limits:* (header and request timeouts, sizes) from configuration, as operators expect of a Kestrel server.
    builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(builder.Configuration.GetSection("Kestrel"));
    var gateway = builder.Services.AddWebSocketGateway(builder.Configuration.GetSection("Gateway"));

    // N nodes behind a load balancer share one Redis or one NATS; with neither, one node runs alone on the in-memory backplane.
    switch (BackplaneEngine.Choose(builder.Configuration))
    {
        case "redis":
            gateway.AddRedisBackplane(builder.Configuration.GetSection("Gateway:Redis"));
            break;
        case "nats":
            gateway.AddNatsBackplane(builder.Configuration.GetSection("Gateway:Nats"));
            break;
    }

    // Directed calls between nodes on a direct link (off unless Gateway:Cluster:Link:Listen is set).
    gateway.AddNodeLink(builder.Configuration.GetSection("Gateway:Cluster:Link"));

    app = builder.Build();

    // SIGHUP reloads the configuration, as operators expect (settings files are also watched for changes). Taken over
    // before the listeners open: a SIGHUP that came first would otherwise end the process.
    reloadSignal = ReloadSignal.Register(app);

    // Every option validated together, before anything reads one of them (the shutdown timeout reads the gateway's),
    // so that one list names every problem of every part.
    app.Services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
    app.MapWebSocketGateway();
    app.MapGatewayMetrics();
    app.LogListenerAddresses();
    await app.StartAsync();
}
catch (Exception ex) when (StartupFailure.Describe(ex) is { } description)
{
    // A configuration mistake is the user's to fix: say what and where in a few lines, never with a stack trace.
    await Console.Error.WriteLineAsync(description);
    return StartupFailure.ExitCode;
}

using (reloadSignal)
{
    await app.WaitForShutdownAsync();
}

await app.DisposeAsync();
return 0;

/// <summary>The gateway executable (public for functional tests).</summary>
public partial class Program;
