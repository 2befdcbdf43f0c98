using System.Diagnostics;

namespace Gateway.LoadTest;

/// <summary>Latency samples (Stopwatch ticks) and their percentiles.</summary>
public sealed class Latency
{
    private readonly List<long> _samples = [];

    public void Add(long ticks)
    {
        lock (_samples)
        {
            _samples.Add(ticks);
        }
    }

    public void AddRange(IEnumerable<long> ticks)
    {
        lock (_samples)
        {
            _samples.AddRange(ticks);
        }
    }

    public int Count => _samples.Count;

    /// <summary>The percentile in microseconds.</summary>
    public double PercentileMicros(double p)
    {
        lock (_samples)
        {
            if (_samples.Count == 0)
            {
                return double.NaN;
            }

            _samples.Sort();
            var index = (int)Math.Clamp(Math.Ceiling(p / 100 * _samples.Count) - 1, 0, _samples.Count - 1);
            return _samples[index] * 1_000_000.0 / Stopwatch.Frequency;
        }
    }
}
