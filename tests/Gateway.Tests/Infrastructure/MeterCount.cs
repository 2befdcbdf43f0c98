using System.Diagnostics.Metrics;

namespace Gateway.Tests.Infrastructure;

/// <summary>Sums what one counter of a host's own meter records (every host of the test process has its own meter).</summary>
public sealed class MeterCount : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public MeterCount(GatewayHost host, string instrument)
    {
        ArgumentNullException.ThrowIfNull(host);
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Name == instrument && ReferenceEquals(published.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    /// <summary>The sum so far.</summary>
    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
