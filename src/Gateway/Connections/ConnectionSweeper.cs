using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Connections;

/// <summary>
/// One timer for the whole node that checks every connection's idle, lifetime, ping and close deadlines,
/// instead of a timer per connection.
/// </summary>
public sealed partial class ConnectionSweeper(ConnectionRegistry registry, ConnectionRuntime runtime) : IHostedService, IDisposable
{
    private ITimer? _timer;
    private int _running;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var period = runtime.Options.SweepInterval;
        _timer = runtime.Time.CreateTimer(static state => ((ConnectionSweeper)state!).Sweep(), this, period, period);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        return Task.CompletedTask;
    }

    /// <summary>Checks every connection once.</summary>
    public void Sweep()
    {
        // Timer callbacks may overlap when a sweep runs long; one at a time keeps per-connection state single-threaded.
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            return;
        }

        try
        {
            var now = runtime.NowTicks;
            foreach (var connection in registry.All())
            {
                try
                {
                    connection.CheckDeadlines(now);
                }
                catch (Exception ex)
                {
                    // An exception in a timer callback would end the process; one connection's must not.
                    Log.SweepFailed(runtime.Logger, ex, connection.Id);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _timer?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1120, Level = LogLevel.Error, Message = "Checking the deadlines of connection {ConnectionId} failed")]
        public static partial void SweepFailed(ILogger logger, Exception exception, string connectionId);
    }
}
