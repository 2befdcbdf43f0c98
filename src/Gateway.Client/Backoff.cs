namespace Gateway.Client;

/// <summary>Exponential backoff with full jitter: attempt n waits a uniform random time in [0, min(max, base × factor^n)).</summary>
internal sealed class Backoff(GatewayClientOptions options)
{
    private readonly Func<double> _random = options.Jitter ?? Random.Shared.NextDouble;

    /// <summary>The wait before attempt <paramref name="attempt"/> (0 for the first retry after a connection was lost).</summary>
    public TimeSpan Delay(int attempt)
    {
        if (attempt == 0 && options.FirstRetryDelay is { } first)
        {
            return first;
        }

        var ceiling = Math.Min(options.ReconnectMaxDelay.TotalMilliseconds, options.ReconnectBaseDelay.TotalMilliseconds * Math.Pow(options.ReconnectFactor, Math.Min(attempt, 64)));
        return TimeSpan.FromMilliseconds(ceiling * _random());
    }
}
