using System.Threading.Tasks.Sources;

namespace Gateway.Connections;

/// <summary>
/// A connection's send queue: many producers, one reader (the writer loop), at most <c>limit</c> messages.
/// It does what a bounded channel did here at a fraction of the memory an idle connection pays for it: one
/// object, which holds a lone message itself (the usual case: a reply, a push, a ping), a ring made only when
/// two or more wait at once, and the reader's wait built in (no object per wait).
/// Producers that must wait for room (stream relays) are rare and get a task each only while they wait.
/// The queue locks on itself, on purpose: a separate lock object would cost every connection another allocation
/// (about 24 bytes, 2.4 MB at 100,000 connections), and the instance never leaves its <see cref="GatewayConnection"/>
/// (the type is internal and sealed, the field private), so no other code can ever take the same lock.
/// </summary>
internal sealed class SendQueue(int limit) : IValueTaskSource<bool>
{
    private const int InitialCapacity = 4;

    private int _limit = limit;
    private bool _paused;

    private OutboundMessage _single;
    private OutboundMessage[]? _items;
    private int _head;
    private int _count;
    private bool _completed;
    private bool _readerWaiting;
    private ManualResetValueTaskSourceCore<bool> _readerWait = new() { RunContinuationsAsynchronously = true };
    private Queue<TaskCompletionSource>? _roomWaiters;

    /// <summary>Messages waiting.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The most messages the queue takes; changed while a session waits for its client and while it catches up.</summary>
    public int Limit
    {
        get => Volatile.Read(ref _limit);
        set
        {
            lock (this)
            {
                _limit = value;
            }
        }
    }

    /// <summary>
    /// Stops the reader without completing the queue: reads find nothing and a waiting reader is told there is nothing
    /// more (false), while producers still add. For a session that waits for its client to come back.
    /// </summary>
    public void Pause()
    {
        lock (this)
        {
            _paused = true;
            if (_readerWaiting)
            {
                _readerWaiting = false;
                Wake(false, here: false);
            }
        }
    }

    /// <summary>Takes every message waiting, paused or not.</summary>
    public List<OutboundMessage> Drain()
    {
        lock (this)
        {
            var all = TakeAll();
            SignalRoom();
            return [.. all];
        }
    }

    // Under the lock: the messages waiting, in order, leaving the queue empty.
    private OutboundMessage[] TakeAll()
    {
        var all = new OutboundMessage[_count];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = _items is { } items ? items[(_head + i) % items.Length] : _single;
        }

        _items = null;
        _single = default;
        _head = 0;
        Volatile.Write(ref _count, 0);
        return all;
    }

    /// <summary>
    /// Ends a <see cref="Pause"/>, with <paramref name="first"/> read before every message waiting (for a new reader).
    /// </summary>
    public void Resume(IReadOnlyList<OutboundMessage> first)
    {
        lock (this)
        {
            var waiting = TakeAll();
            var all = new OutboundMessage[first.Count + waiting.Length];
            for (var i = 0; i < first.Count; i++)
            {
                all[i] = first[i];
            }

            waiting.CopyTo(all, first.Count);
            if (all.Length == 1)
            {
                _single = all[0];
            }
            else if (all.Length > 1)
            {
                _items = all;
            }

            Volatile.Write(ref _count, all.Length);
            _paused = false;
        }
    }

    /// <summary>
    /// Adds a message; false when the queue is full or completed. A waiting reader resumes on the thread pool, or, with
    /// <paramref name="resumeReaderHere"/>, on this thread after the queue's lock is released, until its next wait: a single
    /// directed send is then written to the socket by its caller, as a plain web app writes, instead of by a thread-pool
    /// thread woken for it. Only for callers that hold no lock.
    /// </summary>
    public bool TryWrite(in OutboundMessage message, bool resumeReaderHere = false)
    {
        bool wake;
        lock (this)
        {
            if (_completed || _count >= _limit)
            {
                return false;
            }

            wake = Enqueue(message);
            if (wake && !resumeReaderHere)
            {
                Wake(true, here: false);
            }
        }

        if (wake && resumeReaderHere)
        {
            // Only this call may complete the wait the reader is parked on: it took the reader's flag under the lock.
            Wake(true, here: true);
        }

        return true;
    }

    /// <summary>Adds a message, waiting for room; false when the queue was completed or the wait cancelled.</summary>
    public async ValueTask<bool> WriteAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource room;
            lock (this)
            {
                if (_completed)
                {
                    return false;
                }

                if (_count < _limit)
                {
                    if (Enqueue(message))
                    {
                        Wake(true, here: false);
                    }

                    return true;
                }

                room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                (_roomWaiters ??= new()).Enqueue(room);
            }

            try
            {
                await room.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Marked as given up, so that the next read's signal goes to a writer still waiting. When the signal
                // reached this one first, it is passed on.
                if (!room.TrySetCanceled(cancellationToken))
                {
                    lock (this)
                    {
                        SignalRoom();
                    }
                }

                return false;
            }
        }
    }

    /// <summary>Takes the next message; false when there is none.</summary>
    public bool TryRead(out OutboundMessage message)
    {
        lock (this)
        {
            if (_count == 0 || _paused)
            {
                message = default;
                return false;
            }

            if (_items is not { } items)
            {
                message = _single;
                _single = default;
                Volatile.Write(ref _count, 0);
                SignalRoom();
                return true;
            }

            message = items[_head];
            items[_head] = default;
            _head = (_head + 1) % items.Length;
            Volatile.Write(ref _count, _count - 1);
            if (_count == 0 && items.Length > 64)
            {
                // A burst grew the ring; an idle connection does not keep it.
                _items = null;
                _head = 0;
            }

            SignalRoom();
            return true;
        }
    }

    private void SignalRoom()
    {
        // Writers that gave up (cancelled) are skipped: the signal goes to the first one still waiting.
        while (_roomWaiters is { Count: > 0 } waiters && !waiters.Dequeue().TrySetResult())
        {
        }
    }

    /// <summary>
    /// Waits until a message can be read (true) or the queue is completed and empty (false). One reader only,
    /// one wait at a time.
    /// </summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (this)
        {
            if (_paused)
            {
                return new ValueTask<bool>(false);
            }

            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _readerWait.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _readerWait.Version);
        }
    }

    /// <summary>Stops accepting messages; those queued can still be read. Producers waiting for room give up.</summary>
    public void Complete()
    {
        lock (this)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (_readerWaiting && _count == 0)
            {
                _readerWaiting = false;
                Wake(false, here: false);
            }

            while (_roomWaiters is { Count: > 0 } waiters)
            {
                waiters.Dequeue().TrySetResult();
            }
        }
    }

    /// <summary>Adds a message under the lock; true when the reader was waiting and is now to be woken by the caller.</summary>
    private bool Enqueue(in OutboundMessage message)
    {
        if (_items is null && _count == 0)
        {
            _single = message;
        }
        else
        {
            EnqueueInRing(message);
        }

        Volatile.Write(ref _count, _count + 1);
        if (_readerWaiting)
        {
            _readerWaiting = false;
            return true;
        }

        return false;
    }

    /// <summary>
    /// Completes the reader's wait. Unless <paramref name="here"/>, the reader resumes on the thread pool, never inside the
    /// producer (a fan-out writes to thousands of queues, and producers may hold the queue's lock).
    /// </summary>
    private void Wake(bool value, bool here)
    {
        _readerWait.RunContinuationsAsynchronously = !here;
        _readerWait.SetResult(value);
    }

    private void EnqueueInRing(in OutboundMessage message)
    {
        if (_items is null)
        {
            // A second message while one waits alone: both move to a ring.
            _items = new OutboundMessage[Math.Max(2, Math.Min(InitialCapacity, _limit))];
            _items[0] = _single;
            _single = default;
            _head = 0;
        }

        var items = _items;
        if (_count == items.Length)
        {
            var larger = new OutboundMessage[Math.Max(_count + 1, Math.Min(items.Length * 2, _limit))];
            for (var i = 0; i < _count; i++)
            {
                larger[i] = items[(_head + i) % items.Length];
            }

            _items = items = larger;
            _head = 0;
        }

        items[(_head + _count) % items.Length] = message;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _readerWait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _readerWait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _readerWait.OnCompleted(continuation, state, token, flags);
}
