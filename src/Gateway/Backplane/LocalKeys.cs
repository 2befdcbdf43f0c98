using System.Collections.Concurrent;

namespace Gateway.Backplane;

/// <summary>
/// Keys with a time to live kept in this process: what the shared keys of a store are to a cluster, for a node alone
/// (the claim of an idempotency key). Expired keys are dropped when they are read or overwritten, and swept now and then.
/// </summary>
/// <param name="time">The clock that expires keys.</param>
public sealed class LocalKeys(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (byte[] Value, DateTimeOffset Expires)> _keys = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _writes;

    /// <summary>Sets a key for <paramref name="ttl"/>; with <paramref name="onlyIfAbsent"/> only when none is there. Returns whether it was set.</summary>
    public bool Set(string key, ReadOnlyMemory<byte> value, TimeSpan ttl, bool onlyIfAbsent)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (onlyIfAbsent && _keys.TryGetValue(key, out var existing) && existing.Expires > now)
            {
                return false;
            }

            _keys[key] = (value.ToArray(), now + ttl);
        }

        if (Interlocked.Increment(ref _writes) % 1024 == 0)
        {
            Sweep(now);
        }

        return true;
    }

    /// <summary>The value of a key, or null when there is none (or it expired).</summary>
    public byte[]? Get(string key) =>
        _keys.TryGetValue(key, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Value : null;

    /// <summary>Deletes a key.</summary>
    public void Delete(string key)
    {
        lock (_gate)
        {
            _keys.TryRemove(key, out _);
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        lock (_gate)
        {
            foreach (var (key, entry) in _keys)
            {
                if (entry.Expires <= now)
                {
                    _keys.TryRemove(key, out _);
                }
            }
        }
    }
}
