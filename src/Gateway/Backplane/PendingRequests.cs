using System.Collections.Concurrent;

namespace Gateway.Backplane;

/// <summary>
/// Requests to other nodes waiting for their answers. No timer per request: one sweep, on the injected clock, fails
/// every request past its deadline with a <see cref="TimeoutException"/>; its caller then asks whether the node lives.
/// </summary>
internal sealed class PendingRequests(TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<long, (TaskCompletionSource<BackplaneMessage> Reply, long Deadline)> _pending = new();

    // A restarted node with a fixed id never matches an answer meant for its previous run.
    private long _next = System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue) * 1024L;
    private ITimer? _sweep;

    /// <summary>Starts the sweep: every tenth of <paramref name="requestTimeout"/>, between 10 ms and 1 s.</summary>
    public void Start(TimeSpan requestTimeout)
    {
        var every = TimeSpan.FromTicks(Math.Clamp(requestTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _sweep = time.CreateTimer(static state => ((PendingRequests)state!).Sweep(), this, every, every);
    }

    /// <summary>A new request that waits at most <paramref name="timeout"/> (negative: without limit).</summary>
    public (long Correlation, TaskCompletionSource<BackplaneMessage> Reply) Add(TimeSpan timeout)
    {
        var correlation = Interlocked.Increment(ref _next);

        // Completed only from a work item of its own on the thread pool (see Complete), where its caller resumes inline.
        var reply = new TaskCompletionSource<BackplaneMessage>();
        var deadline = timeout < TimeSpan.Zero ? long.MaxValue : time.GetTimestamp() + (long)(timeout.TotalSeconds * time.TimestampFrequency);
        _pending[correlation] = (reply, deadline);
        return (correlation, reply);
    }

    /// <summary>Takes the request an answer is for; false when it already ended.</summary>
    public bool TryTake(long correlation, out TaskCompletionSource<BackplaneMessage> reply)
    {
        var found = _pending.TryRemove(correlation, out var pending);
        reply = pending.Reply;
        return found;
    }

    /// <summary>Forgets a request that ended, however it ended.</summary>
    public void Remove(long correlation, TaskCompletionSource<BackplaneMessage> reply)
    {
        _pending.TryRemove(correlation, out _);

        // A request that ended before its answer (the store failed, nobody listened) must not leave a fault unobserved.
        if (!reply.TrySetCanceled(CancellationToken.None) && reply.Task.IsFaulted)
        {
            _ = reply.Task.Exception;
        }
    }

    /// <summary>Completes answered requests together in one work item on the thread pool, never on the thread that read them.</summary>
    public static void Complete(List<(TaskCompletionSource<BackplaneMessage> Reply, BackplaneMessage Answer)> answers) =>
        ThreadPool.UnsafeQueueUserWorkItem(
            static answers =>
            {
                foreach (var (reply, answer) in answers)
                {
                    reply.TrySetResult(answer);
                }
            },
            answers,
            preferLocal: false);

    /// <summary>Fails every request whose answer is overdue.</summary>
    public void Sweep()
    {
        var now = time.GetTimestamp();
        List<TaskCompletionSource<BackplaneMessage>>? overdue = null;
        foreach (var (correlation, pending) in _pending)
        {
            if (now >= pending.Deadline && _pending.TryRemove(correlation, out var expired))
            {
                (overdue ??= []).Add(expired.Reply);
            }
        }

        if (overdue is not null)
        {
            // Resumed on the thread pool, as answers are, not on the timer's thread.
            ThreadPool.UnsafeQueueUserWorkItem(
                static overdue =>
                {
                    foreach (var reply in overdue)
                    {
                        reply.TrySetException(new TimeoutException());
                    }
                },
                overdue,
                preferLocal: false);
        }
    }

    /// <summary>Stops the sweep and fails every waiting request: the node is shutting down.</summary>
    public void Dispose()
    {
        _sweep?.Dispose();
        foreach (var correlation in _pending.Keys)
        {
            if (_pending.TryRemove(correlation, out var waiting))
            {
                waiting.Reply.TrySetException(new BackplaneUnavailableException("The node is shutting down."));
            }
        }
    }
}
