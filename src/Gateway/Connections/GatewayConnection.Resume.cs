using Microsoft.Extensions.Logging;

namespace Gateway.Connections;

/// <summary>How a connection's loops ended: how it closed, or, for a resumable session, that it now waits for its client.</summary>
/// <param name="Info">The close (for a waiting session, the drop it waits out).</param>
/// <param name="Waiting">True when the session waits for its client: its end (and <c>$disconnect</c>) comes later, or never.</param>
internal readonly record struct RunEnd(DisconnectInfo Info, bool Waiting);

/// <summary>
/// Resumable sessions (<c>Connections:ResumeWindow</c>). When the socket drops without a close frame (or the client closes
/// with 4000–4099), the session is kept: its send queue stops being written and goes on taking what is sent to it, within
/// the resume buffer; it stays registered and subscribed. A client that comes back in time with the session's resume
/// token takes it over on a new socket: the frames it did not receive are written again, then what was kept, then live
/// ones. A session that is not resumed in time, overflows its buffer, or is closed while it waits ends as any other does.
/// </summary>
public sealed partial class GatewayConnection
{
    /// <summary>
    /// The token number of a resume that holds no token: an event stream's reconnect, which proves the session its
    /// client's by the connection's key (and the same user) instead, and takes whatever number is current.
    /// </summary>
    internal const uint AnyGeneration = uint.MaxValue;

    /// <summary>True while the session has lost its socket and waits for its client to resume it.</summary>
    public bool IsWaiting => _resume is { } resume && Volatile.Read(ref resume.Suspended) is not null && Volatile.Read(ref _close) is null;

    /// <summary>
    /// True once a waiting session's loops have ended and it is parked: only from then on does the sweeper end it when
    /// its window or lifetime passes (a clock moved before that is not looked at again until the next sweep).
    /// </summary>
    internal bool IsParked
    {
        get
        {
            if (_resume is not { } resume)
            {
                return false;
            }

            lock (resume)
            {
                return resume.Parked && resume.Suspended is not null && Volatile.Read(ref _close) is null;
            }
        }
    }

    /// <summary>True when this session can be resumed after a dropped socket (resuming was on when it opened).</summary>
    public bool IsResumable => _resume is not null;

    /// <summary>Data frames written on this session so far, across its sockets (what a client that says nothing is taken to have).</summary>
    internal long FramesWritten => _resume?.Replay.Written ?? 0;

    /// <summary>The number of the resume token valid now.</summary>
    internal uint ResumeGeneration => _resume?.Replay.Generation ?? 0;

    /// <summary>
    /// Called once, on the thread pool, when a session whose loops had ended while it waited ends after all (its window
    /// passed, its buffer overflowed, it was closed): whoever runs connections tears it down (<c>$disconnect</c>).
    /// </summary>
    internal Func<GatewayConnection, DisconnectInfo, Task>? WaitingEnded
    {
        get => _resume?.WaitingEnded;
        set
        {
            if (_resume is { } resume)
            {
                resume.WaitingEnded = value;
            }
        }
    }

    private static bool IsResumableDrop(CloseRecord record) =>
        (record.Status == CloseCodes.Abnormal && !record.SendFrame) || (record.InitiatedByClient && record.Status is >= 4000 and <= 4099);

    private bool TrySuspend(ResumeState resume, CloseRecord record)
    {
        lock (resume)
        {
            if (Volatile.Read(ref _close) is not null)
            {
                return false;
            }

            if (resume.Suspended is not null)
            {
                return true;
            }

            if (_runtime.Options.ResumeWindow <= TimeSpan.Zero || _awaitingCredentials)
            {
                return false;
            }

            BeginWaiting(resume, record);
        }

        _queue.Pause();
        Log.SessionWaiting(_runtime.Logger, Id, record.Status, record.Reason, _runtime.Options.ResumeWindow);
        return true;
    }

    // Under the resume lock.
    private void BeginWaiting(ResumeState resume, CloseRecord record)
    {
        resume.SuspendedTicks = _runtime.NowTicks;
        resume.Parked = false;
        resume.LoopsEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Limit = int.MaxValue;
        Volatile.Write(ref resume.Suspended, record);
        _runtime.Metrics?.SessionWaiting(1);
    }

    /// <summary>Keeps a message for a waiting session; null when the session is no longer waiting (send it as usual).</summary>
    private SendResult? TryBuffer(ResumeState resume, in OutboundMessage message)
    {
        var size = message.Payload.Length;
        CloseRecord? waited;
        lock (resume)
        {
            if (resume.Suspended is not { } suspended)
            {
                return null;
            }

            if (Volatile.Read(ref _close) is not null)
            {
                return SendResult.Gone;
            }

            var o = _runtime.Options;
            if (_queue.Count < o.ResumeBufferMessages && QueuedBytes + size <= o.ResumeBufferBytes)
            {
                Interlocked.Add(ref _queuedBytes, size);
                _queue.TryWrite(message);
                resume.BufferedBytes += size;
                _runtime.Metrics?.SessionBuffered(size);
                return SendResult.Sent;
            }

            waited = suspended;
        }

        Log.ResumeBufferFull(_runtime.Logger, Id, _runtime.Options.ResumeBufferMessages, _runtime.Options.ResumeBufferBytes);
        EndWaiting(resume, waited with { Reason = "Resume buffer full" });
        return SendResult.QueueFull;
    }

    /// <summary>Ends a waiting session with <paramref name="record"/>; false when it had ended already.</summary>
    private bool EndWaiting(ResumeState resume, CloseRecord record)
    {
        bool report;
        long buffered;
        lock (resume)
        {
            if (Interlocked.CompareExchange(ref _close, record, null) is not null)
            {
                return false;
            }

            report = resume.Parked && !resume.Claimed && !resume.EndReported;
            resume.EndReported |= report;
            buffered = resume.BufferedBytes;
            resume.BufferedBytes = 0;
        }

        StopWaiting(buffered);
        Log.SessionEnded(_runtime.Logger, Id, record.Reason);
        if (report)
        {
            ReportEnd(resume, record);
        }

        return true;
    }

    /// <summary>After a waiting session closed (under its lock): no more messages, handlers told, no longer counted as waiting.</summary>
    private void StopWaiting(long buffered)
    {
        _queue.Complete();
        if (Volatile.Read(ref _closedSource) is { } source)
        {
            _ = source.CancelAsync();
        }

        _runtime.Metrics?.SessionWaiting(-1);
        _runtime.Metrics?.SessionBuffered(-buffered);
    }

    private void ReportEnd(ResumeState resume, CloseRecord record)
    {
        if (resume.WaitingEnded is { } ended)
        {
            var info = new DisconnectInfo(record.Status, record.Reason, record.InitiatedByClient);
            _ = Task.Run(() => ended(this, info));
        }
    }

    /// <summary>At the end of the loops: the drop the session now waits out, or null when it closed.</summary>
    private CloseRecord? Park(ResumeState resume)
    {
        lock (resume)
        {
            if (Volatile.Read(ref _close) is not null || resume.Suspended is not { } suspended)
            {
                return null;
            }

            resume.Parked = true;
            resume.LoopsEnded?.TrySetResult();
            return suspended;
        }
    }

    /// <summary>The sweeper's check of a waiting session: true when the session waits (nothing else applies to it).</summary>
    private bool CheckWaiting(ResumeState resume, long now)
    {
        CloseRecord? end = null;
        lock (resume)
        {
            if (resume.Suspended is not { } suspended || Volatile.Read(ref _close) is not null)
            {
                return false;
            }

            if (!resume.Parked || resume.Claimed)
            {
                return true;
            }

            if (now - resume.SuspendedTicks >= _runtime.Options.ResumeWindow.Ticks)
            {
                end = suspended with { Reason = "Resume window over" };
            }
            else if (_runtime.LifetimeTicks > 0 && now - _connectedTicks >= _runtime.LifetimeTicks)
            {
                end = new CloseRecord(CloseCodes.GoingAway, "Connection lifetime reached", now, SendFrame: false, FlushQueued: false);
            }
        }

        if (end is not null)
        {
            EndWaiting(resume, end);
        }

        return true;
    }

    /// <summary>
    /// Claims the session for a resume with token number <paramref name="generation"/>. A session still attached (its
    /// socket's drop not seen yet) is taken over: its socket is dropped. Null when claimed, with
    /// <paramref name="loopsEnded"/> done once the old socket's loops have ended; otherwise why not.
    /// </summary>
    private string? TryClaimResume(uint generation, out Task loopsEnded)
    {
        loopsEnded = Task.CompletedTask;
        if (_resume is not { } resume)
        {
            return "gone";
        }

        var takeOver = false;
        lock (resume)
        {
            if (Volatile.Read(ref _close) is not null || _awaitingCredentials)
            {
                return "gone";
            }

            if (resume.Claimed || (generation != resume.Replay.Generation && generation != AnyGeneration))
            {
                return "replayed";
            }

            resume.Claimed = true;
            if (resume.Suspended is null)
            {
                BeginWaiting(resume, new CloseRecord(CloseCodes.Abnormal, "Replaced by a resume", _runtime.NowTicks, SendFrame: false, FlushQueued: false));
                takeOver = true;
            }

            loopsEnded = resume.Parked ? Task.CompletedTask : resume.LoopsEnded!.Task;
        }

        if (takeOver)
        {
            _queue.Pause();
            DropTransport();
        }

        return null;
    }

    /// <summary>
    /// Claims the session for a resume with token number <paramref name="generation"/> (see <see cref="TryClaimResume"/>),
    /// waits at most the close timeout for its old socket's loops to end, and checks that the frames after the client's
    /// <paramref name="received"/> th are kept. Null when claimed; otherwise why not: <c>busy</c> (the claim is given up),
    /// <c>lost</c> (the session ends: what its client missed is gone), or the claim's own refusal.
    /// </summary>
    internal async Task<string?> ClaimResumeAsync(uint generation, long? received, CancellationToken cancellationToken)
    {
        if (TryClaimResume(generation, out var loopsEnded) is { } refused)
        {
            return refused;
        }

        try
        {
            await loopsEnded.WaitAsync(_runtime.Options.CloseTimeout, _runtime.Time, cancellationToken);
        }
        catch (TimeoutException)
        {
            ReleaseResume();
            return "busy";
        }
        catch (OperationCanceledException)
        {
            ReleaseResume();
            throw;
        }

        if (!CanResendAfter(received))
        {
            EndClaimedWaiting("Resumed after frames no longer kept");
            return "lost";
        }

        return null;
    }

    /// <summary>Gives up a claim without resuming: the session waits on (or, closed meanwhile, ends).</summary>
    internal void ReleaseResume()
    {
        if (_resume is not { } resume)
        {
            return;
        }

        CloseRecord? ended = null;
        lock (resume)
        {
            resume.Claimed = false;
            if (Volatile.Read(ref _close) is { } close && resume.Parked && !resume.EndReported)
            {
                resume.EndReported = true;
                ended = close;
            }
        }

        if (ended is not null)
        {
            ReportEnd(resume, ended);
        }
    }

    /// <summary>
    /// True when a claimed waiting session still keeps every frame written after the client's
    /// <paramref name="received"/> th (null: the client says nothing, and is taken to have received every frame written).
    /// </summary>
    private bool CanResendAfter(long? received)
    {
        if (_resume is not { } resume)
        {
            return false;
        }

        lock (resume)
        {
            return resume.Replay.Keeps(received ?? resume.Replay.Written);
        }
    }

    /// <summary>Ends a claimed waiting session that cannot be resumed (what the client missed is no longer kept).</summary>
    private void EndClaimedWaiting(string reason)
    {
        if (_resume is not { } resume)
        {
            return;
        }

        CloseRecord? waited;
        lock (resume)
        {
            resume.Claimed = false;
            waited = resume.Suspended;
        }

        if (waited is not null)
        {
            EndWaiting(resume, waited with { Reason = reason });
        }
    }

    /// <summary>
    /// Binds a claimed waiting session to the resuming client's socket: first the frame <paramref name="resumedFrame"/>
    /// makes (given the new token number and how many frames follow it), then the frames written after the client's
    /// <paramref name="received"/> th, then what was kept while it waited, then live ones. Null when bound; otherwise
    /// why not (<c>gone</c>: it ended meanwhile; <c>lost</c>: a frame it missed is no longer kept): the claim is kept,
    /// for the caller to give up with <see cref="ReleaseResume"/> (which ends what ended meanwhile) or end.
    /// </summary>
    internal string? Reattach(ClientTransport transport, long? received, Func<uint, int, byte[]> resumedFrame, IReadOnlyList<OutboundMessage>? carried = null)
    {
        if (_resume is not { } resume)
        {
            return "gone";
        }

        long buffered;
        lock (resume)
        {
            if (Volatile.Read(ref _close) is not null)
            {
                return "gone";
            }

            if (resume.Replay.TakeAfter(received ?? resume.Replay.Written) is not { } resend)
            {
                return "lost";
            }

            var missed = resend.Count + (carried?.Count ?? 0) + _queue.Count;
            resume.Replay.Generation++;
            var first = new List<OutboundMessage>(resend.Count + (carried?.Count ?? 0) + 1) { new(resumedFrame(resume.Replay.Generation, missed), OutboundKind.Session) };
            first.AddRange(resend);
            first.AddRange(carried ?? []);
            Interlocked.Add(ref _queuedBytes, first.Sum(m => (long)m.Payload.Length));

            Volatile.Write(ref _transport, transport);
            _finished = false;
            _pingOutstanding = false;
            _pingRequestedTicks = _runtime.NowTicks;
            Touch();

            var limit = _runtime.Options.SendQueueLimit;
            _queue.Limit = first.Count + _queue.Count + limit;
            resume.CatchingUp = true;
            _queue.Resume(first);
            buffered = resume.BufferedBytes;
            resume.BufferedBytes = 0;
            Volatile.Write(ref resume.Suspended, null);
            resume.Parked = false;
            resume.Claimed = false;
        }

        _runtime.Metrics?.SessionWaiting(-1);
        _runtime.Metrics?.SessionBuffered(-buffered);
        return null;
    }

    /// <summary>
    /// Gives a claimed waiting session up to another node, where its client resumed: the frames written after the
    /// client's <paramref name="received"/> th and those kept while it waited, in order, and the count of frames the
    /// client has. The session is closed here without an end of its own (no <c>$disconnect</c>: it goes on elsewhere).
    /// Null when it ended meanwhile.
    /// </summary>
    internal (List<OutboundMessage> Frames, long Written)? HandOver(long? received)
    {
        if (_resume is not { } resume)
        {
            return null;
        }

        List<OutboundMessage> frames;
        long written;
        long buffered;
        lock (resume)
        {
            if (Volatile.Read(ref _close) is not null || resume.Replay.TakeAfter(received ?? resume.Replay.Written) is not { } resend)
            {
                return null;
            }

            written = resume.Replay.Written;
            frames = resend;
            foreach (var message in _queue.Drain())
            {
                Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
                if (message.Kind != OutboundKind.Ping)
                {
                    frames.Add(message);
                }
            }

            Volatile.Write(ref _close, new CloseRecord(CloseCodes.GoingAway, "Resumed on another node", _runtime.NowTicks, SendFrame: false, FlushQueued: false));
            resume.EndReported = true;
            resume.Claimed = false;
            buffered = resume.BufferedBytes;
            resume.BufferedBytes = 0;
        }

        StopWaiting(buffered);
        return (frames, written);
    }

    /// <summary>
    /// Makes this new connection the home of a session that resumes here from another node: it waits, claimed, for
    /// <see cref="Reattach"/> (calls sent on to it meanwhile are kept), numbered as the client's token
    /// <paramref name="generation"/> was.
    /// </summary>
    internal void BeginMovedIn(uint generation)
    {
        if (_resume is not { } resume)
        {
            return;
        }

        lock (resume)
        {
            BeginWaiting(resume, new CloseRecord(CloseCodes.Abnormal, "Resuming from another node", _runtime.NowTicks, SendFrame: false, FlushQueued: false));
            resume.Parked = true;
            resume.Claimed = true;
            resume.Replay.Generation = generation;
        }

        _queue.Pause();
    }

    /// <summary>Carries on what the node the session came from counted and when it opened.</summary>
    internal void RestoreMovedIn(long written, DateTimeOffset connectedAt)
    {
        _resume?.Replay.Restart(written);
        Volatile.Write(ref _connectedTicks, connectedAt.UtcTicks);
    }

    /// <summary>Drops a session that was to resume here from another node and did not: nothing of it ran here.</summary>
    internal void AbandonMovedIn()
    {
        if (_resume is not { } resume)
        {
            return;
        }

        long buffered;
        lock (resume)
        {
            if (Interlocked.CompareExchange(ref _close, new CloseRecord(CloseCodes.Abnormal, "Not resumed", _runtime.NowTicks, SendFrame: false, FlushQueued: false), null) is not null)
            {
                return;
            }

            resume.EndReported = true;
            resume.Claimed = false;
            buffered = resume.BufferedBytes;
            resume.BufferedBytes = 0;
        }

        StopWaiting(buffered);
    }

    private void EndCatchUp(ResumeState resume)
    {
        var limit = _runtime.Options.SendQueueLimit;
        if (_queue.Count <= limit)
        {
            resume.CatchingUp = false;
            _queue.Limit = limit;
        }
    }

    /// <summary>What a resumable session keeps. Locked on itself.</summary>
    private sealed class ResumeState
    {
        public readonly SessionReplay Replay = new();

        /// <summary>The drop the session waits out; null while it has a socket.</summary>
        public CloseRecord? Suspended;

        public long SuspendedTicks;

        /// <summary>True once the loops of the dropped socket have ended.</summary>
        public bool Parked;

        /// <summary>True while a resume holds the session.</summary>
        public bool Claimed;

        public bool EndReported;

        public volatile bool CatchingUp;

        public long BufferedBytes;

        public TaskCompletionSource? LoopsEnded;

        public Func<GatewayConnection, DisconnectInfo, Task>? WaitingEnded;

        public void Written(GatewayConnection connection, in OutboundMessage message)
        {
            if (message.Kind is OutboundKind.Text or OutboundKind.Binary)
            {
                var o = connection._runtime.Options;
                Replay.Record(message, o.ResumeBufferMessages, o.ResumeBufferBytes);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1140, Level = LogLevel.Information, Message = "Connection {ConnectionId} lost its socket ({CloseStatus}, {CloseReason}); its session waits {Window} for its client to resume it")]
        public static partial void SessionWaiting(ILogger logger, string connectionId, int closeStatus, string closeReason, TimeSpan window);

        [LoggerMessage(EventId = 1141, Level = LogLevel.Information, Message = "Connection {ConnectionId} no longer waits for its client: {Reason}")]
        public static partial void SessionEnded(ILogger logger, string connectionId, string reason);

        [LoggerMessage(EventId = 1142, Level = LogLevel.Information, Message = "Connection {ConnectionId}, waiting for its client, was sent more than its resume buffer keeps ({Messages} messages, {Bytes} bytes); its session ends")]
        public static partial void ResumeBufferFull(ILogger logger, string connectionId, int messages, long bytes);
    }
}
