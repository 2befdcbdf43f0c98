namespace Gateway.Connections;

/// <summary>
/// What a Server-Sent Events connection keeps across its streams (a resumed session gets a new one): the sequence
/// number of the last message its client posted, and the stream that takes the next ones. A connection feature.
/// </summary>
internal sealed class SseSession
{
    private readonly Lock _gate = new();
    private long _applied;
    private SseTransport? _transport;

    /// <summary>A session whose client has posted up to <paramref name="applied"/> (a session that resumed here from another node).</summary>
    public SseSession(long applied = 0) => _applied = applied;

    /// <summary>The sequence number of the last message taken.</summary>
    public long Applied
    {
        get
        {
            lock (_gate)
            {
                return _applied;
            }
        }
    }

    /// <summary>Binds the stream that takes posts from now on.</summary>
    internal void Attach(SseTransport transport)
    {
        lock (_gate)
        {
            _transport = transport;
        }
    }

    /// <summary>
    /// Takes the message numbered <paramref name="seq"/> when it is the next one: a number already taken is a retry
    /// (not applied again), one past the next is refused with the number expected. <paramref name="body"/> is kept.
    /// </summary>
    public SsePostAnswer Post(long seq, byte[] body, bool binary)
    {
        lock (_gate)
        {
            if (seq <= _applied)
            {
                return new(SsePostOutcome.Duplicate, _applied + 1);
            }

            if (seq != _applied + 1)
            {
                return new(SsePostOutcome.OutOfOrder, _applied + 1);
            }

            var outcome = _transport?.TryTake(body, binary) ?? SsePostOutcome.Reconnecting;
            if (outcome == SsePostOutcome.Accepted)
            {
                _applied = seq;
            }

            return new(outcome, _applied + 1);
        }
    }

    /// <summary>The client's close (a <c>DELETE</c> of its send URL), applied after the messages it posted before.</summary>
    public SsePostOutcome Close()
    {
        lock (_gate)
        {
            return _transport?.TakeClose() ?? SsePostOutcome.Reconnecting;
        }
    }
}
