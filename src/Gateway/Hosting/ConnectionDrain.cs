using Gateway.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// Graceful shutdown: stop accepting handshakes, close every connection with 1001 so the load balancer
/// moves clients elsewhere, and wait until their <c>$disconnect</c> events have run (or the host's
/// shutdown timeout ends the wait).
/// </summary>
public sealed partial class ConnectionDrain(ConnectionRegistry registry, ILogger<ConnectionDrain> logger) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var drained = registry.BeginDrain();
        var count = 0;
        foreach (var connection in registry.All())
        {
            if (connection.Close(CloseCodes.GoingAway, "Server shutting down"))
            {
                count++;
            }
        }

        Log.Draining(logger, count);
        try
        {
            await drained.WaitAsync(cancellationToken);
            Log.Drained(logger);
        }
        catch (OperationCanceledException)
        {
            Log.DrainCut(logger, registry.SlotsInUse);
        }
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
