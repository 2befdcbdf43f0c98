namespace Gateway.Topics;

/// <summary>
/// One connection's token buckets for the <c>publish</c> command, one per <c>Topics:ClientPublish</c> entry (by its
/// position): each holds at most its rate in tokens (at least one), refilled at the rate, and a publish takes one.
/// Kept as a feature of the connection.
/// </summary>
public sealed class ClientPublishBuckets
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, (double Tokens, long At)> _buckets = [];

    /// <summary>Takes a token from entry <paramref name="rule"/>'s bucket at <paramref name="now"/> (a timestamp of <paramref name="time"/>); false when it is empty.</summary>
    public bool TryTake(int rule, double ratePerSecond, TimeProvider time, long now)
    {
        ArgumentNullException.ThrowIfNull(time);
        var burst = Math.Max(1, ratePerSecond);
        lock (_gate)
        {
            var tokens = _buckets.TryGetValue(rule, out var bucket)
                ? Math.Min(burst, bucket.Tokens + (time.GetElapsedTime(bucket.At, now).TotalSeconds * ratePerSecond))
                : burst;
            if (tokens < 1)
            {
                _buckets[rule] = (tokens, now);
                return false;
            }

            _buckets[rule] = (tokens - 1, now);
            return true;
        }
    }
}
