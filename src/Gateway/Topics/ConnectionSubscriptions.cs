namespace Gateway.Topics;

/// <summary>The patterns one connection subscribes to; made on its first subscribe, so idle connections carry none.</summary>
public sealed class ConnectionSubscriptions : Connections.ISubscriptionList
{
    private readonly HashSet<string> _patterns = new(StringComparer.Ordinal);
    private bool _closed;

    /// <summary>How many patterns are held.</summary>
    public int Count
    {
        get
        {
            lock (_patterns)
            {
                return _patterns.Count;
            }
        }
    }

    /// <summary>Adds a pattern unless <paramref name="limit"/> are held; <paramref name="added"/> is false when it was there already.</summary>
    internal bool TryAdd(string pattern, int limit, out bool added)
    {
        lock (_patterns)
        {
            added = false;
            if (_closed)
            {
                return false;
            }

            if (_patterns.Contains(pattern))
            {
                return true;
            }

            if (_patterns.Count >= limit)
            {
                return false;
            }

            added = _patterns.Add(pattern);
            return true;
        }
    }

    /// <summary>Whether <paramref name="pattern"/> is held.</summary>
    internal bool Contains(string pattern)
    {
        lock (_patterns)
        {
            return _patterns.Contains(pattern);
        }
    }

    internal bool Remove(string pattern)
    {
        lock (_patterns)
        {
            return _patterns.Remove(pattern);
        }
    }

    /// <summary>A copy of the patterns.</summary>
    public string[] Snapshot()
    {
        lock (_patterns)
        {
            return [.. _patterns];
        }
    }

    internal string[] Clear()
    {
        lock (_patterns)
        {
            // Once the connection is gone, nothing may subscribe it again.
            _closed = true;
            string[] all = [.. _patterns];
            _patterns.Clear();
            return all;
        }
    }
}
