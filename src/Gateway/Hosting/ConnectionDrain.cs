using Gateway.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// Graceful shutdown: stop accepting handshakes, close every connection with 1001 so the load balancer
/// moves clients elsewhere, and let their <c>$disconnect</c> events run. It starts on
/// <see cref="IHostApplicationLifetime.ApplicationStopping"/>, before the web server stops and waits for
/// its requests (each WebSocket is one), so those requests end on their own instead of at the timeout.
/// </summary>
public sealed partial class ConnectionDrain(
    ConnectionRegistry registry,
    IHostApplicationLifetime lifetime,
    Microsoft.Extensions.Options.IOptions<Configuration.GatewayOptions> options,
    ILogger<ConnectionDrain> logger) : IHostedService
{
    private CancellationTokenRegistration _stopping;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(static state => ((ConnectionDrain)state!).Begin(), this);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.DisposeAsync();
        var drained = Begin();
        try
        {
            // Real time on purpose: this bounds how long the process takes to exit.
            await drained.WaitAsync(options.Value.Connections.DrainTimeout, cancellationToken);
            Log.Drained(logger);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            Log.DrainCut(logger, registry.SlotsInUse);
        }
    }

    private Task Begin()
    {
        var first = !registry.IsDraining;
        var drained = registry.BeginDrain();
        if (first)
        {
            var count = 0;
            foreach (var connection in registry.All())
            {
                if (connection.Close(CloseCodes.GoingAway, "Server shutting down"))
                {
                    count++;
                }
            }

            Log.Draining(logger, count);
        }

        return drained;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Shutting down: closing {Count} connections with 1001")]
        public static partial void Draining(ILogger logger, int count);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Every connection has closed and its $disconnect has run")]
        public static partial void Drained(ILogger logger);

        [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Shutdown timeout reached with {Count} connections still closing")]
        public static partial void DrainCut(ILogger logger, int count);
    }
}
