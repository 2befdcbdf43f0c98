using System.Text;
using System.Threading.Channels;
using Gateway.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Backplane;

/// <summary>
/// N nodes joined by a distributed store (<see cref="IBackplaneTransport"/>): the protocol every adapter shares. Each
/// node listens on a channel of its own for operations directed at its connections and the answers to its own
/// requests, and on one shared channel for broadcasts, user sends, topic publishes and presence, which every node
/// carries out on its own connections. A node renews a liveness record with a TTL. A directed operation that no node
/// receives answers "gone" at once when the node's record lapsed, else "unavailable"; so does one the node does not
/// answer in time. An id whose own node says "gone" is looked up once in <c>session:{connectionId}</c>, the node its
/// session moved to. With the store down, local traffic goes on and cross-node operations fail fast.
/// </summary>
public sealed partial class ClusterBackplane : IBackplane, IBackplaneReceiver, IHostedService, IAsyncDisposable
{
    /// <summary>What this node's liveness record holds: that it reads batches on its channel. Earlier versions hold their node id.</summary>
    public const string ReadsBatches = "batches/1";

    private readonly IBackplaneTransport _transport;
    private readonly ClusterBackplaneOptions _options;
    private readonly GatewayNode _node;
    private readonly LocalConnections _local;
    private readonly ILocalTopicDelivery _topics;
    private readonly Func<ILocalTopicSubscriptions?> _subscriptions;
    private readonly Func<ILocalSessions?> _sessions;

    // Sessions of this node that resumed on another (id: that node, until when this node remembers it), where calls for
    // them were last sent on to, and the sessions that resumed here from another node (whose record this node renews).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Node, long Until)> _movedAway = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _movedTo = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _movedIn = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Diagnostics.GatewayMetrics? _metrics;
    private readonly NodeRequests _requests;
    private readonly Dictionary<string, Func<string, byte[]>> _queries = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _announcing = new(1, 1);
    private readonly BusIngest _bus;

    // This node's changes of its own presence members, told to the others in the order they were made.
    private readonly Channel<BackplaneMessage> _presenceOutbox = Channel.CreateUnbounded<BackplaneMessage>(new UnboundedChannelOptions { SingleReader = true });
    private ITimer? _heartbeat;
    private int _announced;

    // Set when a change of this node's members could not be told: the node re-announces all of them once it can.
    private int _presenceUnsent;

    // The live nodes as last read, and whether this node is the one that posts webhooks (the live one with the lowest id).
    private HashSet<string> _knownLive = new(StringComparer.Ordinal);
    private bool _readOthersOnce;
    private volatile bool _leadsWebhooks;

    /// <summary>
    /// Creates the backplane; it connects when the host starts. <paramref name="time"/> runs heartbeats and request
    /// deadlines. <paramref name="subscriptions"/> gives, when first needed, what carries out subscribes other nodes ask
    /// of this node's connections (resolved late: it reads topic histories through this backplane).
    /// </summary>
    public ClusterBackplane(
        IBackplaneTransport transport,
        ClusterBackplaneOptions options,
        GatewayNode node,
        ConnectionRegistry registry,
        ILocalTopicDelivery topics,
        TimeProvider time,
        ILogger<ClusterBackplane> logger,
        IEnumerable<IClusterQueryHandler>? queries = null,
        Diagnostics.GatewayMetrics? metrics = null,
        Func<ILocalTopicSubscriptions?>? subscriptions = null,
        Func<ILocalSessions?>? sessions = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        _transport = transport;
        _options = options;
        _node = node;
        _local = new LocalConnections(registry);
        _topics = topics;
        _subscriptions = subscriptions ?? (static () => null);
        _sessions = sessions ?? (static () => null);
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _requests = new NodeRequests(transport, node.Id, time);
        _bus = new BusIngest(transport, topics, node.Id, time, logger, metrics);
        foreach (var handler in queries ?? [])
        {
            _queries[handler.Name] = handler.Answer;
        }

        _queries[ClusterQuery.UserConnections] = user => Encoding.UTF8.GetBytes(string.Join('\n', _local.OfUser(user)));
        Presence = new PresenceRoster(node.Id, time);
        Occupancy = new PresenceRoster(node.Id, time);
        Presence.Announced += (_, change) => Tell(change, PresenceRosterKind.Members);
        Occupancy.Announced += (_, change) => Tell(change, PresenceRosterKind.Occupancy);
        _queries[ClusterQuery.Presence] = _ => PresenceEncoding.Snapshots(Presence.Own(), Occupancy.Own());
    }

    /// <inheritdoc />
    public PresenceRoster Presence { get; }

    /// <inheritdoc />
    public PresenceRoster Occupancy { get; }

    /// <inheritdoc />
    public bool LeadsWebhooks => _leadsWebhooks;

    /// <summary>True while the store is connected and this node's channels are subscribed.</summary>
    public bool IsConnected => _transport.IsConnected;

    /// <inheritdoc />
    public bool IsAvailable => IsConnected;

    /// <inheritdoc />
    public string Engine => _transport.Engine;

    /// <inheritdoc />
    public TimeSpan RequestTimeout => _options.RequestTimeout;

    /// <inheritdoc />
    public bool SharesHistory => true;

    /// <inheritdoc />
    public bool ConsecutiveOffsets => _transport.ConsecutiveOffsets;

    /// <inheritdoc />
    public bool EchoesFanOut => true;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _transport.ConnectAsync(_node.Id, this, cancellationToken);
        _ = SendPresenceAsync();
        await AnnounceAsync();
        _heartbeat = _time.CreateTimer(static state => _ = ((ClusterBackplane)state!).AnnounceAsync(), this, _options.HeartbeatInterval, _options.HeartbeatInterval);
        _requests.Start(_options.RequestTimeout);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The sweep goes on until disposal: calls made while the host stops still end at their timeout.
        _heartbeat?.Dispose();
        if (_transport.IsConnected)
        {
            try
            {
                await Task.WhenAll(_transport.RemoveLivenessAsync(_node.Id), _transport.DeleteKeyAsync(ReportKey(_node.Id)), _bus.ReleaseLeaseAsync());
            }
            catch (BackplaneUnavailableException ex)
            {
                Log.AnnounceFailed(_logger, ex.Message);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _heartbeat?.Dispose();
        _presenceOutbox.Writer.TryComplete();
        _requests.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask<SendResult> SendAsync(string connectionId, OutboundMessage message, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await RequestAsync(connectionId, BackplaneOperation.Send, (byte)message.Kind, message.Payload.ToArray(), cancellationToken);
            return answer is null ? SendResult.Gone : (SendResult)answer.Kind;
        }
        catch (BackplaneUnavailableException)
        {
            return SendResult.Unavailable;
        }
    }

    /// <inheritdoc />
    public async ValueTask<SsePostAnswer> PostAsync(string connectionId, long seq, byte[] body, bool binary, bool close, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var payload = new byte[8 + body.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(payload, seq);
        body.CopyTo(payload, 8);
        try
        {
            var answer = await RequestAsync(connectionId, BackplaneOperation.SsePost, (byte)(close ? 2 : binary ? 1 : 0), payload, cancellationToken);
            return answer is null
                ? new SsePostAnswer(SsePostOutcome.Gone, 0)
                : new SsePostAnswer((SsePostOutcome)answer.Kind, answer.Payload.Length == 8 ? System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(answer.Payload) : 0);
        }
        catch (BackplaneUnavailableException)
        {
            return new SsePostAnswer(SsePostOutcome.Unavailable, 0);
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DisconnectAsync(string connectionId, CancellationToken cancellationToken) =>
        await RequestAsync(connectionId, BackplaneOperation.Disconnect, 0, [], cancellationToken) is { Kind: 1 };

    /// <inheritdoc />
    public async ValueTask<ConnectionSnapshot?> GetConnectionAsync(string connectionId, CancellationToken cancellationToken) =>
        await RequestAsync(connectionId, BackplaneOperation.Get, 0, [], cancellationToken) is { Kind: 1 } answer ? SnapshotEncoding.Read(answer.Payload) : null;

    /// <inheritdoc />
    public async ValueTask<bool> SetAttributesAsync(string connectionId, IReadOnlyDictionary<string, string?> changes, CancellationToken cancellationToken) =>
        await RequestAsync(connectionId, BackplaneOperation.SetAttributes, 0, SnapshotEncoding.WriteChanges(changes), cancellationToken) is { Kind: 1 };

    /// <inheritdoc />
    public ValueTask<ServerTopicResult> SubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken) =>
        ServerTopicAsync(BackplaneOperation.Subscribe, connectionId, topic, cancellationToken);

    /// <inheritdoc />
    public ValueTask<ServerTopicResult> UnsubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken) =>
        ServerTopicAsync(BackplaneOperation.Unsubscribe, connectionId, topic, cancellationToken);

    /// <inheritdoc />
    public ValueTask BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken) =>
        FanOutAsync(new BackplaneMessage(BackplaneOperation.Broadcast, 0, _node.Id, "", "", (byte)message.Kind, message.Payload.ToArray()));

    /// <inheritdoc />
    public ValueTask SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken) =>
        FanOutAsync(new BackplaneMessage(BackplaneOperation.User, 0, _node.Id, userId, "", (byte)message.Kind, message.Payload.ToArray()));

    /// <inheritdoc />
    public async ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        // On the event bus when the transport carries gateway publishes there (every node takes it in from there),
        // else on the all-nodes channel.
        var bytes = data.ToArray();
        if (!await _transport.PublishEventAsync(topic, type, bytes))
        {
            await FanOutAsync(new BackplaneMessage(BackplaneOperation.Publish, 0, _node.Id, topic, type, 0, bytes));
        }
    }

    /// <inheritdoc />
    public ValueTask BroadcastAsync(OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken) =>
        exclude.Count == 0
            ? BroadcastAsync(message, cancellationToken)
            : FanOutAsync(new BackplaneMessage(BackplaneOperation.BroadcastExcept, 0, _node.Id, "", "", (byte)message.Kind, ExclusionEncoding.Wrap(exclude, message.Payload.Span)));

    /// <inheritdoc />
    public ValueTask SendToUserAsync(string userId, OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken) =>
        exclude.Count == 0
            ? SendToUserAsync(userId, message, cancellationToken)
            : FanOutAsync(new BackplaneMessage(BackplaneOperation.UserExcept, 0, _node.Id, userId, "", (byte)message.Kind, ExclusionEncoding.Wrap(exclude, message.Payload.Span)));

    /// <inheritdoc />
    public async ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, IReadOnlySet<string> exclude, CancellationToken cancellationToken)
    {
        if (exclude.Count == 0)
        {
            await PublishAsync(topic, type, data, cancellationToken);
            return;
        }

        // On the event bus with the exclusion in a header where the transport carries it, else on the all-nodes channel.
        if (await _transport.PublishEventAsync(topic, type, data.ToArray(), exclude))
        {
            return;
        }

        await FanOutAsync(new BackplaneMessage(BackplaneOperation.PublishExcept, 0, _node.Id, topic, type, 0, ExclusionEncoding.Wrap(exclude, data.Span)));
    }

    /// <inheritdoc />
    public async ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, EventOrigin from, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(from);

        // On the event bus with the origin in a header where the transport carries it, else on the all-nodes channel.
        if (await _transport.PublishEventAsync(topic, type, data.ToArray(), from))
        {
            return;
        }

        await FanOutAsync(new BackplaneMessage(BackplaneOperation.PublishFrom, 0, _node.Id, topic, type, 0, from.Wrap(data.Span)));
    }

    /// <inheritdoc />
    public async ValueTask PublishWithHistoryAsync(HistoryEvent historyEvent, CancellationToken cancellationToken) =>
        await _transport.AppendHistoryAsync(historyEvent);

    /// <inheritdoc />
    public async ValueTask<HistoryPosition?> PublishWithHistoryAtAsync(HistoryEvent historyEvent, CancellationToken cancellationToken) =>
        await _transport.AppendHistoryAtAsync(historyEvent);

    /// <inheritdoc />
    public async ValueTask<SharedTopicHistory?> ReadHistoryAsync(string topic, TimeSpan ttl, CancellationToken cancellationToken) =>
        await _transport.ReadHistoryAsync(topic, ttl);

    /// <inheritdoc />
    public async ValueTask ReportAsync(NodeReport report, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (_transport.IsConnected)
        {
            // The report expires: a node that stops reporting drops out of the dashboards by itself.
            await _transport.SetKeyAsync(ReportKey(_node.Id), report.ToJson(), lifetime, onlyIfAbsent: false);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<NodeReport>> OtherNodesAsync(CancellationToken cancellationToken)
    {
        var others = await OtherLiveNodesAsync();
        var values = await Task.WhenAll(others.Select(id => _transport.GetKeyAsync(ReportKey(id))));
        return [.. values.Select(v => v is null ? null : NodeReport.FromJson(v)).OfType<NodeReport>()];
    }

    /// <inheritdoc />
    public async ValueTask<UserConnections> UserConnectionsAsync(string userId, CancellationToken cancellationToken)
    {
        var answers = await QueryAllAsync(new ClusterQuery(ClusterQuery.UserConnections, userId), _options.RequestTimeout, cancellationToken);
        return new UserConnections([.. Lines(answers.Answers.Select(a => a.Value))], answers.MissingNodes);
    }

    /// <inheritdoc />
    public async ValueTask<ClusterAnswers> QueryAllAsync(ClusterQuery query, TimeSpan deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);

        // Earlier versions know the user-connections question by its own operation, and no other.
        var operation = query.Name == ClusterQuery.UserConnections ? BackplaneOperation.UserConnections : BackplaneOperation.Query;
        var nodes = await OtherLiveNodesAsync();
        var outcomes = await Task.WhenAll(nodes.Select(async nodeId =>
        {
            try
            {
                // Null: the node left since it was listed, and has nothing to say.
                var answer = await _requests.ExchangeAsync(nodeId, query.Argument, operation, query.Name, 0, [], deadline, cancellationToken);
                return (nodeId, Answered: answer is null || operation == BackplaneOperation.UserConnections || answer.Kind == 1, Payload: answer?.Payload ?? []);
            }
            catch (BackplaneUnavailableException)
            {
                // A node that cannot answer now (or in time): the others still count.
                return (nodeId, Answered: false, Payload: Array.Empty<byte>());
            }
        }));
        var missing = outcomes.Where(o => !o.Answered).Select(o => o.nodeId).ToList();
        if (missing.Count > 0)
        {
            _metrics?.IncompleteQuery(query.Name);
        }

        return new ClusterAnswers([.. outcomes.Where(o => o.Answered).Select(o => KeyValuePair.Create(o.nodeId, o.Payload))], missing.Count == 0, missing);
    }

    /// <summary>Sets a key every node reads for <paramref name="ttl"/>; with <paramref name="onlyIfAbsent"/> only when none is there. Returns whether it was set.</summary>
    public async ValueTask<bool> SetKeyAsync(string key, ReadOnlyMemory<byte> value, TimeSpan ttl, bool onlyIfAbsent, CancellationToken cancellationToken) =>
        await _transport.SetKeyAsync(key, value.ToArray(), ttl, onlyIfAbsent);

    /// <summary>The value of a key every node reads, or null.</summary>
    public async ValueTask<byte[]?> GetKeyAsync(string key, CancellationToken cancellationToken) => await _transport.GetKeyAsync(key);

    /// <summary>Deletes a key every node reads.</summary>
    public async ValueTask DeleteKeyAsync(string key, CancellationToken cancellationToken) => await _transport.DeleteKeyAsync(key);

    /// <summary>Records that <paramref name="connectionId"/>'s session now lives on <paramref name="nodeId"/>, for <paramref name="ttl"/>.</summary>
    public ValueTask<bool> MoveSessionAsync(string connectionId, string nodeId, TimeSpan ttl, CancellationToken cancellationToken) =>
        SetKeyAsync(SessionKey(connectionId), Encoding.UTF8.GetBytes(nodeId), ttl, onlyIfAbsent: false, cancellationToken);

    /// <inheritdoc />
    public bool HoldsElsewhere(string connectionId) => _movedAway.ContainsKey(connectionId);

    /// <inheritdoc />
    public async ValueTask<SessionHandoverResult> TakeSessionAsync(string connectionId, string fromNode, uint generation, long? received, string? userId, CancellationToken cancellationToken)
    {
        try
        {
            // The other node may wait for the session's old socket to let go (up to the close timeout) before it answers.
            var answer = await _requests.ExchangeAsync(fromNode, connectionId, BackplaneOperation.Resume, "", 0, SessionHandoverEncoding.Request(generation, received, userId), _options.RequestTimeout * 2, cancellationToken);
            return answer switch
            {
                null => new SessionHandoverResult(null, "node_gone"),
                { Kind: 1 } => new SessionHandoverResult(answer.Payload, ""),
                _ => new SessionHandoverResult(null, answer.Text.Length > 0 ? answer.Text : "gone"),
            };
        }
        catch (BackplaneUnavailableException)
        {
            return new SessionHandoverResult(null, "busy");
        }
    }

    /// <inheritdoc />
    public async ValueTask SessionMovedHereAsync(string connectionId, CancellationToken cancellationToken)
    {
        _movedIn[connectionId] = 0;
        _movedTo.TryRemove(connectionId, out _);
        try
        {
            await MoveSessionAsync(connectionId, _node.Id, _options.NodeTtl, cancellationToken);
        }
        catch (BackplaneUnavailableException ex)
        {
            // The node it came from still sends calls on here; the record only matters once that node is gone.
            Log.AnnounceFailed(_logger, ex.Message);
        }
    }

    /// <summary>The key that names the node a session moved to.</summary>
    public static string SessionKey(string connectionId) => "session:" + connectionId;

    private static string ReportKey(string nodeId) => $"node:{nodeId}:report";

    private static IEnumerable<string> Lines(IEnumerable<byte[]> payloads) =>
        payloads.Where(p => p.Length > 0).SelectMany(p => Encoding.UTF8.GetString(p).Split('\n'));

    private async Task<List<string>> OtherLiveNodesAsync() =>
        _transport.IsConnected
            ? [.. (await _transport.LiveNodesAsync()).Where(id => id != _node.Id)]
            : throw new BackplaneUnavailableException("The store is not connected.");

    /// <summary>Subscribes this node's channels when they are not (at start, after an outage), and renews its liveness.</summary>
    private async Task AnnounceAsync()
    {
        if (!await _announcing.WaitAsync(0))
        {
            return;
        }

        try
        {
            await _transport.SubscribeAsync();
            if (Interlocked.Exchange(ref _announced, 1) == 0)
            {
                Log.Announced(_logger, _node.Id);
            }

            await _transport.RenewLivenessAsync(_node.Id, ReadsBatches, _options.NodeTtl);
            await _bus.RenewLeaseAsync(_options.NodeTtl);
            await RenewMovedSessionsAsync();
            await ReconcilePresenceAsync();
        }
        catch (BackplaneUnavailableException ex)
        {
            Log.AnnounceFailed(_logger, ex.Message);
        }
        finally
        {
            _announcing.Release();
        }
    }

    /// <summary>Renews the record of each session that resumed here from another node, while it is here; forgets old moves.</summary>
    private async Task RenewMovedSessionsAsync()
    {
        foreach (var id in _movedIn.Keys)
        {
            if (_local.Has(id))
            {
                await _transport.SetKeyAsync(SessionKey(id), Encoding.UTF8.GetBytes(_node.Id), _options.NodeTtl, onlyIfAbsent: false);
            }
            else
            {
                _movedIn.TryRemove(id, out _);
            }
        }

        var now = _time.GetUtcNow().UtcTicks;
        foreach (var (id, moved) in _movedAway)
        {
            if (moved.Until < now)
            {
                _movedAway.TryRemove(id, out _);
            }
        }

        if (_movedTo.Count > 100_000)
        {
            _movedTo.Clear();
        }
    }

    private const string MovedPrefix = "moved:";

    private async ValueTask<BackplaneMessage?> RequestAsync(string connectionId, BackplaneOperation operation, byte kind, byte[] payload, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var outcome = "unavailable";
        try
        {
            var owner = connectionId[..ConnectionId.NodeIdLength];

            // Where the session lives now when known (it resumed on another node), else the node its id names.
            var target = _movedAway.TryGetValue(connectionId, out var away) ? away.Node : _movedTo.TryGetValue(connectionId, out var to) ? to : owner;
            var answer = await ExchangeOrCarryAsync(target, connectionId, operation, kind, payload, cancellationToken);
            if (answer is { Text: { } text } && text.StartsWith(MovedPrefix, StringComparison.Ordinal))
            {
                // That node handed the session over: ask the one it names, and send later calls straight there.
                target = text[MovedPrefix.Length..];
                _movedTo[connectionId] = target;
                answer = await ExchangeOrCarryAsync(target, connectionId, operation, kind, payload, cancellationToken);
            }

            if (answer is null && await MovedToAsync(connectionId) is { } moved && moved != owner && moved != target)
            {
                // The id's own node is gone, but its session lives on elsewhere.
                var request = new BackplaneMessage(operation, 0, _node.Id, connectionId, "", kind, payload);
                answer = moved == _node.Id ? await CarryAsync(request) : await _requests.ExchangeAsync(moved, connectionId, operation, "", kind, payload, _options.RequestTimeout, cancellationToken);
            }

            outcome = answer is null ? "gone" : "answered";
            return answer;
        }
        finally
        {
            _metrics?.Backplane(operation.ToString(), outcome, _time.GetElapsedTime(started));
        }
    }

    private async ValueTask<BackplaneMessage?> ExchangeOrCarryAsync(string nodeId, string connectionId, BackplaneOperation operation, byte kind, byte[] payload, CancellationToken cancellationToken) =>
        nodeId == _node.Id
            ? await CarryAsync(new BackplaneMessage(operation, 0, _node.Id, connectionId, "", kind, payload))
            : await _requests.ExchangeAsync(nodeId, connectionId, operation, "", kind, payload, _options.RequestTimeout, cancellationToken);

    private async Task<string?> MovedToAsync(string connectionId)
    {
        try
        {
            return await _transport.GetKeyAsync(SessionKey(connectionId)) is { } node ? Encoding.UTF8.GetString(node) : null;
        }
        catch (BackplaneUnavailableException)
        {
            return null;
        }
    }

    private async ValueTask FanOutAsync(BackplaneMessage message) => await _transport.PublishToAllAsync(message.ToBytes());

    /// <inheritdoc />
    void IBackplaneReceiver.OnMessage(byte[] message)
    {
        // Requests and replies from one node may come several in one publish. The calls waiting for the answers in it
        // resume together, in one work item on the thread pool: never on this thread, which reads the node's channel
        // and must not wait on whatever a caller does next.
        List<(TaskCompletionSource<BackplaneMessage> Reply, BackplaneMessage Answer)>? answers = null;
        foreach (var one in DirectedOutbox.Split(message))
        {
            OnMessage(BackplaneMessage.FromBytes(one.AsSpan()), ref answers);
        }

        if (answers is not null)
        {
            PendingRequests.Complete(answers);
        }
    }

    private void OnMessage(BackplaneMessage? received, ref List<(TaskCompletionSource<BackplaneMessage> Reply, BackplaneMessage Answer)>? answers)
    {
        // This node's own broadcasts, user sends and publishes come back too, and are delivered here like anywhere.
        if (received is not { } message
            || (message.Origin == _node.Id && message.Operation is not (BackplaneOperation.Reply or BackplaneOperation.Broadcast or BackplaneOperation.User or BackplaneOperation.Publish
                or BackplaneOperation.BroadcastExcept or BackplaneOperation.UserExcept or BackplaneOperation.PublishExcept or BackplaneOperation.PublishFrom)))
        {
            return;
        }

        try
        {
            switch (message.Operation)
            {
                case BackplaneOperation.Reply:
                    if (_requests.TryTake(message.Correlation, out var waiting))
                    {
                        (answers ??= []).Add((waiting, message));
                    }

                    break;
                case BackplaneOperation.Broadcast:
                    _local.Broadcast(new OutboundMessage(message.Payload, (OutboundKind)message.Kind));
                    break;
                case BackplaneOperation.User:
                    _local.SendToUser(message.Target, new OutboundMessage(message.Payload, (OutboundKind)message.Kind));
                    break;
                case BackplaneOperation.Publish:
                    _topics.Publish(message.Target, message.Text, message.Payload);
                    break;
                case BackplaneOperation.BroadcastExcept when ExclusionEncoding.TryUnwrap(message.Payload, out var exclude, out var payload):
                    _local.Broadcast(new OutboundMessage(payload, (OutboundKind)message.Kind), exclude);
                    break;
                case BackplaneOperation.UserExcept when ExclusionEncoding.TryUnwrap(message.Payload, out var exclude, out var payload):
                    _local.SendToUser(message.Target, new OutboundMessage(payload, (OutboundKind)message.Kind), exclude);
                    break;
                case BackplaneOperation.PublishExcept when ExclusionEncoding.TryUnwrap(message.Payload, out var exclude, out var payload):
                    _topics.Publish(message.Target, message.Text, payload, exclude);
                    break;
                case BackplaneOperation.PublishFrom when EventOrigin.TryUnwrap(message.Payload, out var from, out var data):
                    _topics.Publish(message.Target, message.Text, data, from);
                    break;
                case BackplaneOperation.BroadcastExcept or BackplaneOperation.UserExcept or BackplaneOperation.PublishExcept or BackplaneOperation.PublishFrom:
                    break;
                case BackplaneOperation.PresenceJoin when PresenceEncoding.TryReadJoin(message.Payload, message.Text, out var sequence, out var member):
                    RosterOf(message.Kind)?.ApplyJoin(message.Origin, message.Target, member, sequence);
                    break;
                case BackplaneOperation.PresenceLeave when PresenceEncoding.TryReadLeave(message.Payload, out var sequence):
                    RosterOf(message.Kind)?.ApplyLeave(message.Origin, message.Target, message.Text, sequence);
                    break;
                case BackplaneOperation.PresenceSnapshot:
                    ApplyPresence(message.Origin, message.Payload, PresenceCause.Resync);
                    break;
                case BackplaneOperation.PresenceJoin or BackplaneOperation.PresenceLeave:
                    break;
                case BackplaneOperation.Subscribe or BackplaneOperation.Resume:
                    // Reading the topic's shared history, or waiting for a session's old socket, may take a while:
                    // never on this thread, which reads the channel.
                    _ = Task.Run(() => CarryAndReplyAsync(message));
                    break;
                default:
                    _ = ReplyAsync(message.Origin, Carry(message).ToBytes());
                    break;
            }
        }
#pragma warning disable CA1031 // A handler that threw would stop this node's channel; one bad message must not.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.MessageFailed(_logger, ex, message.Operation.ToString());
        }
    }

    /// <summary>Carries out a request on this node's connections, a subscribe included, and makes its answer.</summary>
    private async ValueTask<BackplaneMessage> CarryAsync(BackplaneMessage request)
    {
        if (request.Operation == BackplaneOperation.Resume)
        {
            return await HandOverAsync(request);
        }

        if (request.Operation != BackplaneOperation.Subscribe)
        {
            return Carry(request);
        }

        if (MovedAnswer(request) is { } moved)
        {
            return moved;
        }

        var result = _subscriptions() is { } subscriptions
            ? await subscriptions.SubscribeAsync(request.Target, Encoding.UTF8.GetString(request.Payload), CancellationToken.None)
            : ServerTopicResult.Gone;
        return new BackplaneMessage(BackplaneOperation.Reply, request.Correlation, _node.Id, "", "", (byte)result, []);
    }

    /// <summary>Carries out a request on this node's connections, as a call made here would, and makes its answer.</summary>
    private BackplaneMessage Carry(BackplaneMessage request)
    {
        if (MovedAnswer(request) is { } moved)
        {
            return moved;
        }

        byte kind = 0;
        byte[] payload = [];
        switch (request.Operation)
        {
            case BackplaneOperation.Send:
                kind = (byte)_local.Send(request.Target, new OutboundMessage(request.Payload, (OutboundKind)request.Kind));
                break;
            case BackplaneOperation.Disconnect:
                kind = (byte)(_local.Disconnect(request.Target, CloseCodes.Normal, "Deleted") ? 1 : 0);
                break;
            case BackplaneOperation.SsePost when request.Payload.Length >= 8:
                var posted = _local.Post(request.Target, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(request.Payload), request.Payload[8..], request.Kind == 1, request.Kind == 2);
                kind = (byte)posted.Outcome;
                payload = new byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(payload, posted.ExpectedSeq);
                break;
            case BackplaneOperation.Get when _local.Describe(request.Target) is { } snapshot:
                kind = 1;
                payload = SnapshotEncoding.Write(snapshot);
                break;
            case BackplaneOperation.SetAttributes:
                kind = (byte)(_local.SetAttributes(request.Target, SnapshotEncoding.ReadChanges(request.Payload)) ? 1 : 0);
                break;
            case BackplaneOperation.Unsubscribe:
                kind = (byte)(_subscriptions()?.Unsubscribe(request.Target, Encoding.UTF8.GetString(request.Payload)) ?? ServerTopicResult.Gone);
                break;
            case BackplaneOperation.UserConnections:
                payload = _queries[ClusterQuery.UserConnections](request.Target);
                break;
            case BackplaneOperation.Query when _queries.TryGetValue(request.Text, out var answer):
                kind = 1;
                payload = answer(request.Target);
                break;
        }

        // A session that left while this call was on its way (closed here, perhaps not yet unregistered): the caller
        // asks where it went.
        return (kind == 0 || (request.Operation == BackplaneOperation.Send && kind == (byte)SendResult.Gone)) && MovedAnswer(request, leaving: true) is { } left
            ? left
            : new BackplaneMessage(BackplaneOperation.Reply, request.Correlation, _node.Id, "", "", kind, payload);
    }

    /// <summary>For a call directed at a session that resumed on another node (and is not here): the answer naming that node.</summary>
    private BackplaneMessage? MovedAnswer(BackplaneMessage request, bool leaving = false) =>
        request.Operation is BackplaneOperation.Send or BackplaneOperation.Disconnect or BackplaneOperation.Get or BackplaneOperation.SetAttributes
            or BackplaneOperation.Subscribe or BackplaneOperation.Unsubscribe or BackplaneOperation.SsePost
        && _movedAway.TryGetValue(request.Target, out var moved) && (leaving || !_local.Has(request.Target))
            ? new BackplaneMessage(BackplaneOperation.Reply, request.Correlation, _node.Id, "", MovedPrefix + moved.Node, 0, [])
            : null;

    /// <summary>Hands a waiting session of this node over to the node its client resumed on.</summary>
    private async ValueTask<BackplaneMessage> HandOverAsync(BackplaneMessage request)
    {
        var id = request.Target;
        var result = new SessionHandoverResult(null, "gone");
        if (_sessions() is { } sessions && SessionHandoverEncoding.TryReadRequest(request.Payload, out var generation, out var received, out var userId))
        {
            // Remembered as long as the session could live; the engine's record (renewed by the new node) covers the rest.
            var until = _time.GetUtcNow().AddDays(1).UtcTicks;
            result = await sessions.HandOverAsync(id, generation, received, userId, request.Origin, () => _movedAway[id] = (request.Origin, until), CancellationToken.None);
        }

        return new BackplaneMessage(BackplaneOperation.Reply, request.Correlation, _node.Id, "", result.Refused, (byte)(result.Handover is null ? 0 : 1), result.Handover ?? []);
    }

    private async Task CarryAndReplyAsync(BackplaneMessage request)
    {
        try
        {
            await ReplyAsync(request.Origin, (await CarryAsync(request)).ToBytes());
        }
#pragma warning disable CA1031 // Nobody awaits this work item: what it throws is logged, and the asking node times out.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.MessageFailed(_logger, ex, request.Operation.ToString());
        }
    }

    private async Task ReplyAsync(string nodeId, byte[] reply)
    {
        try
        {
            await _requests.AnswerAsync(nodeId, reply);
        }
        catch (BackplaneUnavailableException ex)
        {
            Log.ReplyFailed(_logger, nodeId, ex.Message);
        }
    }

    /// <inheritdoc />
    void IBackplaneReceiver.OnSharedEvent(SharedTopicEvent sharedEvent)
    {
        try
        {
            _topics.ApplyShared(sharedEvent);
            if (_transport.NumbersBusEvents)
            {
                // The store numbers what is published on its bus, the gateway's publishes and services' alike.
                _bus.Ingested();
            }
        }
        catch (ArgumentException ex)
        {
            Log.MessageFailed(_logger, ex, "history event");
        }
    }

    /// <inheritdoc />
    void IBackplaneReceiver.OnBusEvent(BusEvent busEvent) => _bus.OnBusEvent(busEvent);

    /// <inheritdoc />
    void IBackplaneReceiver.OnBusEventRefused(string topic, string reason) => _bus.Refused(topic, reason);

    /// <inheritdoc />
    void IBackplaneReceiver.OnReconnected()
    {
        _topics.SharedEventsInterrupted();

        // Presence changes may have been missed both ways: this node re-announces its members, and reads the others' again.
        Volatile.Write(ref _presenceUnsent, 1);
        _knownLive = new HashSet<string>(StringComparer.Ordinal);
        _ = AnnounceAsync();
    }

    private PresenceRoster? RosterOf(byte kind) => (PresenceRosterKind)kind switch
    {
        PresenceRosterKind.Members => Presence,
        PresenceRosterKind.Occupancy => Occupancy,
        _ => null,
    };

    /// <summary>Queues a change of this node's members to be told to the others (called in numbering order).</summary>
    private void Tell(PresenceAnnouncement change, PresenceRosterKind roster) =>
        _presenceOutbox.Writer.TryWrite(new BackplaneMessage(
            change.Joined ? BackplaneOperation.PresenceJoin : BackplaneOperation.PresenceLeave, 0, _node.Id, change.Topic, change.Member.ConnectionId, (byte)roster,
            change.Joined ? PresenceEncoding.Join(change.Sequence, change.Member) : PresenceEncoding.Leave(change.Sequence)));

    /// <summary>Tells the other nodes of this node's member changes, one after another.</summary>
    private async Task SendPresenceAsync()
    {
        await foreach (var message in _presenceOutbox.Reader.ReadAllAsync())
        {
            try
            {
                await FanOutAsync(message);
            }
            catch (BackplaneUnavailableException ex)
            {
                // The others will read the whole list once the store is back (see ReconcilePresenceAsync).
                Volatile.Write(ref _presenceUnsent, 1);
                Log.PresenceUnsent(_logger, ex.Message);
            }
        }
    }

    /// <summary>Whether this node has read <paramref name="nodeId"/>'s presence members since it saw it live (the query each heartbeat makes of a node not seen before).</summary>
    internal bool HasReadMembersOf(string nodeId) => Volatile.Read(ref _knownLive).Contains(nodeId);

    /// <summary>
    /// On each heartbeat: the members of nodes that are no longer live leave; nodes not seen before (all of them, the
    /// first time and after a reconnect) are asked for their members; this node re-announces its own when a change
    /// could not be told; the webhook-posting node is chosen again; old leaves are forgotten.
    /// </summary>
    private async Task ReconcilePresenceAsync()
    {
        var live = new HashSet<string>(await _transport.LiveNodesAsync(), StringComparer.Ordinal) { _node.Id };
        _leadsWebhooks = live.Min(StringComparer.Ordinal) == _node.Id;
        foreach (var gone in Presence.OtherOwners().Union(Occupancy.OtherOwners()).Where(id => !live.Contains(id)).ToList())
        {
            Presence.DropNode(gone);
            Occupancy.DropNode(gone);
        }

        var cause = _readOthersOnce ? PresenceCause.Resync : PresenceCause.Startup;
        var unknown = live.Where(id => id != _node.Id && !_knownLive.Contains(id)).ToList();
        var read = await Task.WhenAll(unknown.Select(async id => (id, Answered: await ReadPresenceAsync(id, cause))));
        _knownLive = [.. live.Where(id => id == _node.Id || !unknown.Contains(id) || read.Any(r => r.id == id && r.Answered))];
        _readOthersOnce = true;
        if (Interlocked.Exchange(ref _presenceUnsent, 0) == 1)
        {
            try
            {
                await FanOutAsync(new BackplaneMessage(BackplaneOperation.PresenceSnapshot, 0, _node.Id, "", "", 0, PresenceEncoding.Snapshots(Presence.Own(), Occupancy.Own())));
            }
            catch (BackplaneUnavailableException)
            {
                Volatile.Write(ref _presenceUnsent, 1);
                throw;
            }
        }

        var forget = (_options.NodeTtl * 2) + _options.RequestTimeout;
        Presence.Prune(forget);
        Occupancy.Prune(forget);
    }

    /// <summary>A server-side subscribe or unsubscribe of a connection on another node: the topic in the payload, the result in the answer's kind.</summary>
    private async ValueTask<ServerTopicResult> ServerTopicAsync(BackplaneOperation operation, string connectionId, string topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        try
        {
            var answer = await RequestAsync(connectionId, operation, 0, Encoding.UTF8.GetBytes(topic), cancellationToken);
            return answer is null ? ServerTopicResult.Gone : (ServerTopicResult)answer.Kind;
        }
        catch (BackplaneUnavailableException)
        {
            return ServerTopicResult.Unavailable;
        }
    }

    /// <summary>Asks node <paramref name="nodeId"/> for its members; false when it did not answer (it is asked again on the next heartbeat).</summary>
    private async Task<bool> ReadPresenceAsync(string nodeId, PresenceCause cause)
    {
        try
        {
            var answer = await _requests.ExchangeAsync(nodeId, "", BackplaneOperation.Query, ClusterQuery.Presence, 0, [], _options.RequestTimeout, CancellationToken.None);
            if (answer is { Kind: 1 })
            {
                ApplyPresence(nodeId, answer.Payload, cause);
            }

            return answer is not null;
        }
        catch (BackplaneUnavailableException)
        {
            return false;
        }
    }

    private void ApplyPresence(string owner, byte[] payload, PresenceCause cause)
    {
        if (PresenceEncoding.ReadSnapshots(payload) is { Length: >= 2 } snapshots)
        {
            Presence.ApplySnapshot(owner, snapshots[0], cause);
            Occupancy.ApplySnapshot(owner, snapshots[1], cause);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Node {NodeId} announced on the backplane (channels subscribed, liveness set)")]
        public static partial void Announced(ILogger logger, string nodeId);

        [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "Announcing this node on the backplane failed ({Reason}); retrying on the next heartbeat")]
        public static partial void AnnounceFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1605, Level = LogLevel.Warning, Message = "Answering node {NodeId} failed ({Reason})")]
        public static partial void ReplyFailed(ILogger logger, string nodeId, string reason);

        [LoggerMessage(EventId = 1611, Level = LogLevel.Warning, Message = "A presence change could not be told to the other nodes ({Reason}); this node re-announces its members once the store is back")]
        public static partial void PresenceUnsent(ILogger logger, string reason);

        [LoggerMessage(EventId = 1606, Level = LogLevel.Error, Message = "A backplane message ({Operation}) could not be handled")]
        public static partial void MessageFailed(ILogger logger, Exception exception, string operation);
    }
}
