namespace Gateway.Backplane;

/// <summary>
/// A store shared by N nodes in one process, for <see cref="InMemoryBackplaneTransport"/>: node channels, an
/// all-nodes channel, keys with a TTL, liveness records and numbered topic histories, on the given clock. It runs the
/// cluster protocol without a server (tests of the protocol, a demonstration of an adapter); it is not durable.
/// With <paramref name="consecutiveOffsets"/> false, one sequence numbers the events of every topic, as a JetStream
/// stream does, so each topic's offsets increase with gaps.
/// </summary>
public sealed class InMemoryBackplaneNetwork(TimeProvider? time = null, bool consecutiveOffsets = true)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InMemoryBackplaneTransport> _listeners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (byte[] Value, DateTimeOffset Expires)> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, History> _histories = new(StringComparer.Ordinal);
    private bool _down;

    // The last number taken when one sequence numbers every topic's events.
    private long _sequence;

    /// <summary>True when each topic numbers its events 1, 2, 3 …; false when one sequence numbers those of every topic.</summary>
    public bool ConsecutiveOffsets { get; } = consecutiveOffsets;

    /// <summary>A new node's transport on this network.</summary>
    public InMemoryBackplaneTransport Connect() => new(this);

    /// <summary>Takes the store down (every call fails as unavailable) or brings it back.</summary>
    public bool IsDown
    {
        get { lock (_gate) { return _down; } }
        set { lock (_gate) { _down = value; } }
    }

    /// <summary>What a service publishing straight into the event bus sends: every listening node receives it.</summary>
    public void PublishBusEvent(string topic, byte[] body) => Run(() =>
    {
        foreach (var listener in _listeners.Values)
        {
            listener.Deliver(r => r.OnBusEvent(new BusEvent(topic, body, BusEventForm.Envelope)));
        }

        return true;
    });

    internal void Listen(string nodeId, InMemoryBackplaneTransport transport) => Run(() => _listeners[nodeId] = transport);

    internal void Leave(string nodeId, InMemoryBackplaneTransport transport)
    {
        lock (_gate)
        {
            if (_listeners.TryGetValue(nodeId, out var listening) && listening == transport)
            {
                _listeners.Remove(nodeId);
            }
        }
    }

    internal long Publish(string nodeId, byte[] message) => Run(() =>
    {
        if (!_listeners.TryGetValue(nodeId, out var listener))
        {
            return 0L;
        }

        listener.Deliver(r => r.OnMessage(message));
        return 1L;
    });

    internal void PublishAll(byte[] message) => Run(() =>
    {
        foreach (var listener in _listeners.Values)
        {
            listener.Deliver(r => r.OnMessage(message));
        }

        return true;
    });

    internal bool Set(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent) => Run(() =>
    {
        if (onlyIfAbsent && Live(key) is not null)
        {
            return false;
        }

        _keys[key] = (value, _time.GetUtcNow() + ttl);
        return true;
    });

    internal byte[]? Get(string key) => Run(() => Live(key));

    internal void Delete(string key) => Run(() => _keys.Remove(key));

    internal IReadOnlyList<string> LiveNodes() => Run<IReadOnlyList<string>>(() =>
        [.. _keys.Keys.Where(k => k.StartsWith(InMemoryBackplaneTransport.LivenessPrefix, StringComparison.Ordinal)).ToList()
            .Where(k => Live(k) is not null).Select(k => k[InMemoryBackplaneTransport.LivenessPrefix.Length..])]);

    internal HistoryPosition Append(string topic, byte[] framePrefix, int size, TimeSpan ttl) => Run(() =>
    {
        var history = CurrentHistory(topic, ttl);
        var offset = history.Offset = ConsecutiveOffsets ? history.Offset + 1 : ++_sequence;
        var at = _time.GetUtcNow();
        byte[] frame = [.. framePrefix, .. System.Text.Encoding.UTF8.GetBytes($",\"offset\":{offset}}}")];
        history.Events.Add((offset, at, frame));
        if (history.Events.Count > size)
        {
            history.Events.RemoveRange(0, history.Events.Count - size);
            history.Dropped = true;
        }

        history.Expires = at + ttl;
        var sharedEvent = new SharedTopicEvent(topic, history.Epoch, offset, at, frame);
        foreach (var listener in _listeners.Values)
        {
            listener.Deliver(r => r.OnSharedEvent(sharedEvent));
        }

        return new HistoryPosition(history.Epoch, offset);
    });

    internal SharedTopicHistory Read(string topic, TimeSpan ttl) => Run(() =>
    {
        var history = CurrentHistory(topic, ttl);
        return new SharedTopicHistory(history.Epoch, history.Offset, [.. history.Events], Complete: !history.Dropped);
    });

    // A lapsed history starts again in a new epoch, as the store's keys would have expired.
    private History CurrentHistory(string topic, TimeSpan ttl)
    {
        if (!_histories.TryGetValue(topic, out var history) || history.Expires <= _time.GetUtcNow())
        {
            history = new History(Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6))) { Expires = _time.GetUtcNow() + ttl };
            _histories[topic] = history;
        }

        return history;
    }

    private byte[]? Live(string key)
    {
        if (!_keys.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (entry.Expires > _time.GetUtcNow())
        {
            return entry.Value;
        }

        _keys.Remove(key);
        return null;
    }

    // Deliveries are queued under the lock: every listener receives one channel's messages in publish order.
    private T Run<T>(Func<T> call)
    {
        lock (_gate)
        {
            return _down ? throw new BackplaneUnavailableException("The in-memory store is down.") : call();
        }
    }

    private sealed class History(string epoch)
    {
        public string Epoch { get; } = epoch;

        public long Offset { get; set; }

        public List<(long Offset, DateTimeOffset At, byte[] Frame)> Events { get; } = [];

        public bool Dropped { get; set; }

        public DateTimeOffset Expires { get; set; }
    }
}
