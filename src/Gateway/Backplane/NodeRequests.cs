using System.Collections.Concurrent;

namespace Gateway.Backplane;

/// <summary>
/// Requests to other nodes and their answers: batched per node (<see cref="DirectedOutbox"/>), waited for in the
/// pending table (<see cref="PendingRequests"/>), and, when nobody receives or answers them, judged by the node's
/// liveness record: gone once it lapsed, unavailable while it holds.
/// </summary>
internal sealed class NodeRequests : IDisposable
{
    private readonly IBackplaneTransport _transport;
    private readonly string _self;
    private readonly PendingRequests _pending;
    private readonly DirectedOutbox _outbox;
    private readonly DirectedOutbox _answers;

    // Which other nodes read batches, learnt from their liveness records (bounded: ids come from connection ids).
    private readonly ConcurrentDictionary<string, bool> _takesBatches = new(StringComparer.Ordinal);

    public NodeRequests(IBackplaneTransport transport, string self, TimeProvider time)
    {
        _transport = transport;
        _self = self;
        _pending = new PendingRequests(time);
        _outbox = new DirectedOutbox(transport.PublishToNodeAsync, TakesBatches);

        // Answers in batches of their own, sent without a receiver count: nobody waits to know that one arrived.
        _answers = new DirectedOutbox(async (nodeId, message) =>
        {
            await transport.SendToNodeAsync(nodeId, message);
            return 1;
        }, TakesBatches);
    }

    /// <summary>Starts the sweep of overdue requests.</summary>
    public void Start(TimeSpan requestTimeout) => _pending.Start(requestTimeout);

    /// <summary>Takes the request an answer is for; false when it already ended.</summary>
    public bool TryTake(long correlation, out TaskCompletionSource<BackplaneMessage> reply) => _pending.TryTake(correlation, out reply);

    /// <summary>Sends an answer to the node that asked, batched with the other answers to that node.</summary>
    public Task<long> AnswerAsync(string nodeId, byte[] answer) => _answers.Enqueue(nodeId, answer);

    /// <summary>
    /// Asks <paramref name="nodeId"/> and waits at most <paramref name="timeout"/> for its answer. Null: the node is
    /// gone. Throws <see cref="BackplaneUnavailableException"/> while it may only be reconnecting, or is alive and
    /// did not answer in time.
    /// </summary>
    public async ValueTask<BackplaneMessage?> ExchangeAsync(string nodeId, string target, BackplaneOperation operation, string text, byte kind, byte[] payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (correlation, reply) = _pending.Add(timeout);
        try
        {
            // Requests to one node that meet before the next flush go in one publish (see DirectedOutbox).
            var receivers = await _outbox.Enqueue(nodeId, new BackplaneMessage(operation, correlation, _self, target, text, kind, payload).ToBytes());
            if (receivers == 0)
            {
                // Nobody listens on that channel: the node is gone (410) once its liveness lapsed or it left; until
                // then it may only be reconnecting (503).
                return await NodeAliveAsync(nodeId)
                    ? throw new BackplaneUnavailableException($"Node {nodeId} is not listening right now.")
                    : null;
            }

            try
            {
                return await reply.Task.WaitAsync(cancellationToken);
            }
            catch (TimeoutException)
            {
                return await NodeAliveAsync(nodeId)
                    ? throw new BackplaneUnavailableException($"Node {nodeId} did not answer within {timeout}.")
                    : null;
            }
        }
        finally
        {
            _pending.Remove(correlation, reply);
        }
    }

    private async Task<bool> NodeAliveAsync(string nodeId)
    {
        try
        {
            return await _transport.ReadLivenessAsync(nodeId) is not null;
        }
        catch (BackplaneUnavailableException)
        {
            return true;
        }
    }

    /// <summary>
    /// Whether <paramref name="nodeId"/> reads batches. Until its liveness record has been read, no: one message per
    /// publish, which every version reads. Learnt once per node (a node id is new at every start).
    /// </summary>
    private bool TakesBatches(string nodeId)
    {
        if (_takesBatches.TryGetValue(nodeId, out var known))
        {
            return known;
        }

        if (_takesBatches.Count >= 1024)
        {
            _takesBatches.Clear();
        }

        if (_takesBatches.TryAdd(nodeId, false))
        {
            _ = LearnAsync(nodeId);
        }

        return false;
    }

    private async Task LearnAsync(string nodeId)
    {
        try
        {
            if (await _transport.ReadLivenessAsync(nodeId) is { } value)
            {
                _takesBatches[nodeId] = LivenessRecord.TakesBatches(value);
                return;
            }
        }
        catch (BackplaneUnavailableException)
        {
        }

        // No record to read (a node gone, or the store unreachable): asked again next time.
        _takesBatches.TryRemove(nodeId, out _);
    }

    /// <summary>Stops the sweep and fails every waiting request.</summary>
    public void Dispose() => _pending.Dispose();
}
