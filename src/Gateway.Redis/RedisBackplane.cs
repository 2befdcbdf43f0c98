using System.Collections.Concurrent;
using System.Text;
using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Topics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// N nodes sharing one Redis. Each node subscribes to one channel of its own (<c>{prefix}:node:{nodeId}</c>) for
/// operations directed at its connections and the answers to its own requests, and to one shared channel
/// (<c>{prefix}:all</c>) for broadcasts, user sends and topic publishes, which every node matches locally. A node
/// renews a heartbeat key (<c>{prefix}:node:{nodeId}:alive</c>) with a TTL. A directed operation that no node
/// receives (Redis reports no subscriber) answers "gone" at once; one whose node does not answer in time answers
/// "gone" when that node's heartbeat has lapsed and "unavailable" otherwise. With Redis down, local traffic goes on
/// and cross-node operations fail fast.
/// </summary>
public sealed partial class RedisBackplane : IBackplane, IHostedService, IAsyncDisposable
{
    private readonly RedisOptions _options;
    private readonly GatewayNode _node;
    private readonly ConnectionRegistry _registry;
    private readonly TopicHub _topics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisChannel _self;
    private readonly RedisChannel _all;
    private readonly RedisChannel _events;
    private readonly RedisChannel _history;
    private readonly string _eventsPrefix;
    private readonly ConcurrentDictionary<long, PendingRequest> _pending = new();
    private ITimer? _expiry;
    private readonly DirectedOutbox _outbox;

    // What this node's heartbeat key holds: that it reads batches on its channel. Earlier versions hold their node id.
    private const string ReadsBatches = "batches/1";

    // Which other nodes read batches, learnt from their heartbeat keys (bounded: ids come from connection ids).
    private readonly ConcurrentDictionary<string, bool> _takesBatches = new(StringComparer.Ordinal);
    private ConnectionMultiplexer? _redis;
    private ITimer? _heartbeat;
    private long _nextCorrelation;
    private int _subscribed;
    private readonly SemaphoreSlim _announcing = new(1, 1);
    private readonly Diagnostics.GatewayMetrics? _metrics;
    private const long MaxEventBytes = 1024 * 1024;

    /// <summary>Creates the backplane; it connects when the host starts.</summary>
    public RedisBackplane(IOptions<RedisOptions> options, GatewayNode node, ConnectionRegistry registry, TopicHub topics, TimeProvider time, ILogger<RedisBackplane> logger, Diagnostics.GatewayMetrics? metrics = null)
    {
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(node);
        _options = options.Value;
        _node = node;
        _registry = registry;
        _topics = topics;
        // Heartbeats and network timeouts run on the real clock: Redis's key TTLs do.
        _ = time;
        _time = TimeProvider.System;
        _logger = logger;
        _nextCorrelation = System.Security.Cryptography.RandomNumberGenerator.GetInt32(int.MaxValue) * 1024L; // a restarted node with a fixed id never matches an old reply
        _self = NodeChannel(node.Id);
        _all = Channel($"{_options.ChannelPrefix}:all");
        _eventsPrefix = $"{_options.ChannelPrefix}:events:";
        _events = RedisChannel.Pattern(_eventsPrefix + "*");
        _history = Channel($"{_options.ChannelPrefix}:history");
        _outbox = new DirectedOutbox((nodeId, bytes) => Subscriber.PublishAsync(NodeChannel(nodeId), bytes), TakesBatches);
    }

    /// <summary>True while Redis is connected and this node's own channel is subscribed.</summary>
    public bool IsConnected =>
        _redis is { IsConnected: true } redis && Volatile.Read(ref _subscribed) == 1 && redis.GetSubscriber().IsConnected(_self);

    /// <inheritdoc />
    public bool IsAvailable => IsConnected;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var configuration = ConfigurationOptions.Parse(_options.Configuration!);
        configuration.AbortOnConnectFail = false; // a node starts, and serves its own clients, with Redis down
        configuration.ClientName = "gateway-" + _node.Id;

        // Nothing is queued while Redis is down: a call answered 503 was not sent, and is not delivered later.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        _redis.ConnectionFailed += (_, e) => Log.RedisLost(_logger, e.FailureType.ToString());
        _redis.ConnectionRestored += (_, _) =>
        {
            Log.RedisRestored(_logger);
            _ = AnnounceAsync();
        };
        await AnnounceAsync();
        _heartbeat = _time.CreateTimer(static state => _ = ((RedisBackplane)state!).AnnounceAsync(), this, _options.HeartbeatInterval, _options.HeartbeatInterval);
        var sweep = TimeSpan.FromTicks(Math.Clamp(_options.RequestTimeout.Ticks / 10, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _expiry = _time.CreateTimer(static state => ((RedisBackplane)state!).ExpireRequests(), this, sweep, sweep);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The sweep goes on until disposal: calls made while the host stops still end at their timeout.
        _heartbeat?.Dispose();
        if (_redis is { IsConnected: true } redis)
        {
            try
            {
                var database = redis.GetDatabase();
                await Task.WhenAll(
                    database.KeyDeleteAsync(HeartbeatKey(_node.Id)),
                    database.KeyDeleteAsync(ReportKey(_node.Id)),
                    database.SetRemoveAsync(NodesKey, _node.Id));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                Log.AnnounceFailed(_logger, ex.GetType().Name);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _heartbeat?.Dispose();
        _expiry?.Dispose();
        foreach (var correlation in _pending.Keys)
        {
            if (_pending.TryRemove(correlation, out var waiting))
            {
                waiting.Reply.TrySetException(new BackplaneUnavailableException("The node is shutting down."));
            }
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask<SendResult> SendAsync(string connectionId, OutboundMessage message, CancellationToken cancellationToken)
    {
        try
        {
            var answer = await RequestAsync(connectionId, BackplaneOperation.Send, "", (byte)message.Kind, message.Payload.ToArray(), cancellationToken);
            return answer is null ? SendResult.Gone : (SendResult)answer.Kind;
        }
        catch (BackplaneUnavailableException)
        {
            return SendResult.Unavailable;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DisconnectAsync(string connectionId, CancellationToken cancellationToken) =>
        await RequestAsync(connectionId, BackplaneOperation.Disconnect, "", 0, [], cancellationToken) is { Kind: 1 };

    /// <inheritdoc />
    public async ValueTask<ConnectionSnapshot?> GetConnectionAsync(string connectionId, CancellationToken cancellationToken) =>
        await RequestAsync(connectionId, BackplaneOperation.Get, "", 0, [], cancellationToken) is { Kind: 1 } answer ? ReadSnapshot(answer.Payload) : null;

    /// <inheritdoc />
    public async ValueTask<bool> SetAttributesAsync(string connectionId, IReadOnlyDictionary<string, string?> changes, CancellationToken cancellationToken) =>
        await RequestAsync(connectionId, BackplaneOperation.SetAttributes, "", 0, WriteChanges(changes), cancellationToken) is { Kind: 1 };

    /// <inheritdoc />
    public ValueTask BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken) =>
        FanOutAsync(new BackplaneMessage(BackplaneOperation.Broadcast, 0, _node.Id, "", "", (byte)message.Kind, message.Payload.ToArray()));

    /// <inheritdoc />
    public ValueTask SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken) =>
        FanOutAsync(new BackplaneMessage(BackplaneOperation.User, 0, _node.Id, userId, "", (byte)message.Kind, message.Payload.ToArray()));

    /// <inheritdoc />
    public ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        FanOutAsync(new BackplaneMessage(BackplaneOperation.Publish, 0, _node.Id, topic, type, 0, data.ToArray()));

    /// <inheritdoc />
    public async ValueTask ReportAsync(NodeReport report, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        if (_redis is not { IsConnected: true } redis)
        {
            return;
        }

        try
        {
            // The report expires: a node that stops reporting drops out of the list by itself.
            var database = redis.GetDatabase();
            await Task.WhenAll(
                database.StringSetAsync(ReportKey(_node.Id), report.ToJson(), lifetime),
                database.SetAddAsync(NodesKey, _node.Id));
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            throw new BackplaneUnavailableException("Redis cannot be reached: " + ex.GetType().Name, ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<NodeReport>> OtherNodesAsync(CancellationToken cancellationToken)
    {
        if (_redis is not { IsConnected: true } redis)
        {
            throw new BackplaneUnavailableException("Redis is not connected.");
        }

        try
        {
            var database = redis.GetDatabase();
            var ids = (await database.SetMembersAsync(NodesKey)).Select(v => v.ToString()).Where(id => id != _node.Id).ToList();
            var values = await Task.WhenAll(ids.Select(id => database.StringGetAsync(ReportKey(id))));
            var reports = new List<NodeReport>();
            for (var i = 0; i < ids.Count; i++)
            {
                if (values[i].IsNull)
                {
                    // Its report expired: the node is gone (it adds itself again with its next report if not).
                    _ = database.SetRemoveAsync(NodesKey, ids[i], CommandFlags.FireAndForget);
                }
                else if (NodeReport.FromJson((byte[])values[i]!) is { } report)
                {
                    reports.Add(report);
                }
            }

            return reports;
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            throw new BackplaneUnavailableException("Redis cannot be reached: " + ex.GetType().Name, ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask<UserConnections> UserConnectionsAsync(string userId, CancellationToken cancellationToken)
    {
        var nodes = await OtherNodesAsync(cancellationToken);
        var unreachable = new List<string>();
        var answers = await Task.WhenAll(nodes.Select(async n =>
        {
            try
            {
                return await ExchangeAsync(n.NodeId, userId, BackplaneOperation.UserConnections, "", 0, [], cancellationToken);
            }
            catch (BackplaneUnavailableException)
            {
                // A node that stopped (its report not yet expired) or cannot answer now: the others still count.
                lock (unreachable)
                {
                    unreachable.Add(n.NodeId);
                }

                return null;
            }
        }));
        var ids = answers.Where(a => a is { Payload.Length: > 0 }).SelectMany(a => System.Text.Encoding.UTF8.GetString(a!.Payload).Split('\n')).ToList();
        return new UserConnections(ids, unreachable);
    }

    private RedisKey ReportKey(string nodeId) => $"{_options.ChannelPrefix}:node:{nodeId}:report";

    private RedisKey NodesKey => $"{_options.ChannelPrefix}:nodes";

    /// <inheritdoc />
    public bool SharesHistory => true;

    /// <inheritdoc />
    public bool EchoesFanOut => true;

    // Numbers the event, keeps it in the topic's stream, and hands it to every node: all in one step, so that every
    // node receives a topic's events in offset order. A topic's keys share its hash tag (one cluster slot).
    private static readonly LuaScript PublishScript = LuaScript.Prepare("""
        local epoch = redis.call('GET', @epochKey)
        if not epoch then
          epoch = @newEpoch
          redis.call('SET', @epochKey, epoch)
          redis.call('DEL', @offsetKey, @streamKey)
        end
        local offset = redis.call('INCR', @offsetKey)
        local now = redis.call('TIME')
        local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
        local frame = @prefix .. ',"offset":' .. offset .. '}'
        redis.call('XADD', @streamKey, 'MAXLEN', @size, offset .. '-1', 'f', frame, 't', ms)
        redis.call('PEXPIRE', @epochKey, @ttl)
        redis.call('PEXPIRE', @offsetKey, @ttl)
        redis.call('PEXPIRE', @streamKey, @ttl)
        redis.call(@publish, @channel, epoch .. '\n' .. offset .. '\n' .. ms .. '\n' .. @topic .. '\n' .. frame)
        return offset
        """);

    private static readonly LuaScript ReadScript = LuaScript.Prepare("""
        local epoch = redis.call('GET', @epochKey)
        if not epoch then
          epoch = @newEpoch
          redis.call('SET', @epochKey, epoch, 'PX', @ttl)
          redis.call('DEL', @offsetKey, @streamKey)
        end
        local offset = redis.call('GET', @offsetKey) or '0'
        return {epoch, offset, redis.call('XRANGE', @streamKey, '-', '+')}
        """);

    /// <inheritdoc />
    public async ValueTask PublishWithHistoryAsync(string topic, ReadOnlyMemory<byte> framePrefix, int size, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            var db = _redis is { IsConnected: true } redis ? redis.GetDatabase() : throw new BackplaneUnavailableException("Redis is not connected.");
            await db.ScriptEvaluateAsync(PublishScript, new
            {
                epochKey = HistoryKey(topic, "epoch"),
                offsetKey = HistoryKey(topic, "offset"),
                streamKey = HistoryKey(topic, "events"),
                newEpoch = NewEpoch(),
                prefix = (RedisValue)framePrefix.ToArray(),
                size,
                ttl = (long)ttl.TotalMilliseconds,
                channel = (RedisValue)_history.ToString(),
                publish = _options.ShardedPubSub ? "SPUBLISH" : "PUBLISH",
                topic,
            });
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            throw new BackplaneUnavailableException("Redis cannot be reached: " + ex.GetType().Name, ex);
        }
    }

    /// <inheritdoc />
    public async ValueTask<SharedTopicHistory?> ReadHistoryAsync(string topic, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            var db = _redis is { IsConnected: true } redis ? redis.GetDatabase() : throw new BackplaneUnavailableException("Redis is not connected.");
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(ReadScript, new
            {
                epochKey = HistoryKey(topic, "epoch"),
                offsetKey = HistoryKey(topic, "offset"),
                streamKey = HistoryKey(topic, "events"),
                newEpoch = NewEpoch(),
                ttl = (long)ttl.TotalMilliseconds,
            }))!;
            var events = new List<(long, DateTimeOffset, byte[])>();
            foreach (var entry in (RedisResult[])result[2]!)
            {
                var parts = (RedisResult[])entry!;
                var id = (string)parts[0]!;
                var fields = (RedisResult[])parts[1]!;
                byte[] frame = [];
                long ms = 0;
                for (var i = 0; i + 1 < fields.Length; i += 2)
                {
                    switch ((string?)fields[i])
                    {
                        case "f":
                            frame = (byte[])fields[i + 1]!;
                            break;
                        case "t":
                            ms = (long)fields[i + 1];
                            break;
                    }
                }

                events.Add((long.Parse(id.Split('-')[0], System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.FromUnixTimeMilliseconds(ms), frame));
            }

            return new SharedTopicHistory((string)result[0]!, long.Parse((string)result[1]!, System.Globalization.CultureInfo.InvariantCulture), events);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            throw new BackplaneUnavailableException("Redis cannot be reached: " + ex.GetType().Name, ex);
        }
    }

    // The topic is the hash tag: a topic's three keys live in one cluster slot, as a script needs.
    private RedisKey HistoryKey(string topic, string part) => $"{_options.ChannelPrefix}:history:{{{topic}}}:{part}";

    private static string NewEpoch() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));

    // A node's channel carries its id as the hash tag: sharded, it lives on one shard, with an exact receiver count.
    private RedisChannel NodeChannel(string nodeId) => Channel($"{_options.ChannelPrefix}:node:{{{nodeId}}}");

    private RedisChannel Channel(string name) => _options.ShardedPubSub ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);

    private RedisKey HeartbeatKey(string nodeId) => $"{_options.ChannelPrefix}:node:{nodeId}:alive";

    // Fail fast: with Redis known to be down, a call does not wait for the client's timeouts.
    private ISubscriber Subscriber => _redis is { IsConnected: true } redis
        ? redis.GetSubscriber()
        : throw new BackplaneUnavailableException("Redis is not connected.");

    /// <summary>Renews the heartbeat, and subscribes this node's channels when they are not (at start, after an outage).</summary>
    private async Task AnnounceAsync()
    {
        if (_redis is not { IsConnected: true } redis || !await _announcing.WaitAsync(0))
        {
            return;
        }

        try
        {
            // Subscribed once: the client restores its subscriptions after an outage by itself, and subscribing
            // again would add a second handler (every message handled twice).
            if (Volatile.Read(ref _subscribed) == 0)
            {
                var subscriber = redis.GetSubscriber();

                // Message queues deliver in order, one at a time: pushes to one connection keep their order.
                (await subscriber.SubscribeAsync(_self)).OnMessage(m => OnMessage(m.Message));
                (await subscriber.SubscribeAsync(_all)).OnMessage(m => OnMessage(m.Message));

                // Redis as the event bus: services PUBLISH {prefix}:events:{topic} {"type":…,"data":…} themselves.
                (await subscriber.SubscribeAsync(_events)).OnMessage(m => OnEvent(m.Channel, m.Message));

                // Events of topics with history, numbered by Redis, in offset order.
                (await subscriber.SubscribeAsync(_history)).OnMessage(m => OnHistoryEvent(m.Message));
                Volatile.Write(ref _subscribed, 1);
                Log.Announced(_logger, _node.Id);
            }

            await redis.GetDatabase().StringSetAsync(HeartbeatKey(_node.Id), ReadsBatches, _options.NodeTtl);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            Log.AnnounceFailed(_logger, ex.GetType().Name);
        }
        finally
        {
            _announcing.Release();
        }
    }

    private async ValueTask<BackplaneMessage?> RequestAsync(string connectionId, BackplaneOperation operation, string text, byte kind, byte[] payload, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "unavailable";
        try
        {
            var answer = await ExchangeAsync(connectionId[..ConnectionId.NodeIdLength], connectionId, operation, text, kind, payload, cancellationToken);
            outcome = answer is null ? "gone" : "answered";
            return answer;
        }
        finally
        {
            _metrics?.Backplane(operation.ToString(), outcome, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    private async ValueTask<BackplaneMessage?> ExchangeAsync(string nodeId, string target, BackplaneOperation operation, string text, byte kind, byte[] payload, CancellationToken cancellationToken)
    {
        var correlation = Interlocked.Increment(ref _nextCorrelation);
        // Completed only from a work item of its own on the thread pool (see OnMessage), where its caller resumes inline.
        var reply = new TaskCompletionSource<BackplaneMessage>();
        var deadline = _options.RequestTimeout < TimeSpan.Zero ? long.MaxValue : Environment.TickCount64 + (long)_options.RequestTimeout.TotalMilliseconds;
        _pending[correlation] = new PendingRequest(reply, deadline);
        try
        {
            long receivers;
            try
            {
                // Requests to one node that meet before the next flush go in one publish (see DirectedOutbox).
                receivers = await _outbox.Enqueue(nodeId, new BackplaneMessage(operation, correlation, _node.Id, target, text, kind, payload).ToBytes());
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
            {
                throw new BackplaneUnavailableException("Redis cannot be reached: " + ex.GetType().Name, ex);
            }

            if (receivers == 0)
            {
                // Nobody listens on that channel: the node is gone (410) once its heartbeat has lapsed or it left
                // (its key deleted); until then it may only be reconnecting (503).
                return await NodeAliveAsync(nodeId)
                    ? throw new BackplaneUnavailableException($"Node {nodeId} is not listening right now.")
                    : null;
            }

            try
            {
                // No timer per request: one sweep fails every request past its deadline (see ExpireRequests).
                return await reply.Task.WaitAsync(cancellationToken);
            }
            catch (TimeoutException)
            {
                return await NodeAliveAsync(nodeId)
                    ? throw new BackplaneUnavailableException($"Node {nodeId} did not answer within {_options.RequestTimeout}.")
                    : null;
            }
        }
        finally
        {
            _pending.TryRemove(correlation, out _);

            // A request that ended before its answer (Redis failed, nobody listened) must not leave a fault unobserved.
            if (!reply.TrySetCanceled(CancellationToken.None) && reply.Task.IsFaulted)
            {
                _ = reply.Task.Exception;
            }
        }
    }

    /// <summary>Fails every request whose answer is overdue; its caller then asks whether the node is still alive.</summary>
    private void ExpireRequests()
    {
        var now = Environment.TickCount64;
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

    /// <summary>
    /// Whether <paramref name="nodeId"/> reads batches. Until its heartbeat key has been read, no: one message per
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
            if (_redis is { } redis && await redis.GetDatabase().StringGetAsync(HeartbeatKey(nodeId)) is { IsNull: false } value)
            {
                _takesBatches[nodeId] = value == ReadsBatches;
                return;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
        }

        // No heartbeat to read (a node gone, or Redis unreachable): asked again next time.
        _takesBatches.TryRemove(nodeId, out _);
    }

    /// <summary>A request waiting for its answer, and when it stops waiting (<see cref="Environment.TickCount64"/>).</summary>
    private readonly record struct PendingRequest(TaskCompletionSource<BackplaneMessage> Reply, long Deadline);

    private async Task<bool> NodeAliveAsync(string nodeId)
    {
        try
        {
            return _redis is not null && await _redis.GetDatabase().KeyExistsAsync(HeartbeatKey(nodeId));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return true;
        }
    }

    private async ValueTask FanOutAsync(BackplaneMessage message)
    {
        try
        {
            await Subscriber.PublishAsync(_all, message.ToBytes());
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            throw new BackplaneUnavailableException("Redis cannot be reached: " + ex.GetType().Name, ex);
        }
    }

    private void OnMessage(RedisValue value)
    {
        // Requests and replies from one node may come several in one publish. The calls waiting for the answers in it
        // resume together, in one work item on the thread pool: never on this thread, which reads the node's channel
        // and must not wait on whatever a caller does next.
        List<(TaskCompletionSource<BackplaneMessage> Reply, BackplaneMessage Answer)>? answers = null;
        foreach (var one in DirectedOutbox.Split((byte[])value!))
        {
            OnMessage(BackplaneMessage.FromBytes(one.AsSpan()), ref answers);
        }

        if (answers is not null)
        {
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
        }
    }

    private void OnMessage(BackplaneMessage? received, ref List<(TaskCompletionSource<BackplaneMessage> Reply, BackplaneMessage Answer)>? answers)
    {
        // This node's own broadcasts, user sends and publishes come back too, and are delivered here like anywhere.
        if (received is not { } message
            || (message.Origin == _node.Id && message.Operation is not (BackplaneOperation.Reply or BackplaneOperation.Broadcast or BackplaneOperation.User or BackplaneOperation.Publish)))
        {
            return;
        }

        try
        {
            switch (message.Operation)
            {
                case BackplaneOperation.Reply:
                    if (_pending.TryRemove(message.Correlation, out var waiting))
                    {
                        (answers ??= []).Add((waiting.Reply, message));
                    }

                    break;
                case BackplaneOperation.Broadcast:
                    var broadcast = new OutboundMessage(message.Payload, (OutboundKind)message.Kind);
                    foreach (var connection in _registry.All())
                    {
                        if (!connection.AwaitingCredentials)
                        {
                            connection.TrySend(broadcast);
                        }
                    }

                    break;
                case BackplaneOperation.User:
                    var toUser = new OutboundMessage(message.Payload, (OutboundKind)message.Kind);
                    foreach (var connection in _registry.OfUser(message.Target))
                    {
                        connection.TrySend(toUser);
                    }

                    break;
                case BackplaneOperation.Publish:
                    if (TopicData.IsValid(message.Payload) && TopicName.IsValidName(message.Target, int.MaxValue))
                    {
                        _topics.PublishLocal(message.Target, message.Text, message.Payload);
                    }

                    break;
                default:
                    Answer(message);
                    break;
            }
        }
        catch (Exception ex)
        {
            // A message handler that threw would stop this node's queue; one bad message must not.
            Log.MessageFailed(_logger, ex, message.Operation.ToString());
        }
    }

    /// <summary>An event a service published straight into Redis; every node delivers it to its own subscribers.</summary>
    private void OnEvent(RedisChannel channel, RedisValue value)
    {
        var topic = channel.ToString()[_eventsPrefix.Length..];
        try
        {
            if (!TopicName.IsValidName(topic, int.MaxValue) || value.IsNullOrEmpty || value.Length() > MaxEventBytes)
            {
                Log.EventRefused(_logger, topic, "not a concrete topic name");
                return;
            }

            if (!TopicData.TryReadEvent((byte[])value!, out var type, out var data))
            {
                Log.EventRefused(_logger, topic, "the message must be {\"type\": \"…\", \"data\": …} in UTF-8");
                return;
            }

            // Every node gets the event and delivers it to its own subscribers, live: numbering it for history would
            // need one node to do it for all, which a service publishing directly does not ask of any.
            _topics.DeliverLive(topic, type, data);
        }
        catch (ArgumentException)
        {
            Log.EventRefused(_logger, topic, "the message could not be delivered");
        }
    }

    /// <summary>An event of a shared history: <c>epoch \n offset \n unix-ms \n topic \n frame</c>, as the publish script sends it.</summary>
    private void OnHistoryEvent(RedisValue value)
    {
        try
        {
            var bytes = (byte[])value!;
            var fields = new string[4];
            var at = 0;
            for (var i = 0; i < 4; i++)
            {
                var end = Array.IndexOf(bytes, (byte)'\n', at);
                if (end < 0)
                {
                    return;
                }

                fields[i] = Encoding.UTF8.GetString(bytes, at, end - at);
                at = end + 1;
            }

            var offset = long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
            var when = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture));
            _topics.ApplyShared(fields[3], fields[0], offset, when, bytes[at..]);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
            Log.MessageFailed(_logger, ex, "history event");
        }
    }

    /// <summary>Carries out an operation on a connection of this node and answers the node that asked.</summary>
    private void Answer(BackplaneMessage request)
    {
        var found = _registry.TryGet(request.Target, out var connection);
        byte kind = 0;
        byte[] payload = [];
        switch (request.Operation)
        {
            case BackplaneOperation.Send:
                kind = (byte)(found ? connection!.TrySend(new OutboundMessage(request.Payload, (OutboundKind)request.Kind)) : SendResult.Gone);
                break;
            case BackplaneOperation.Disconnect:
                kind = (byte)(found && connection!.Close(CloseCodes.Normal, "Deleted") ? 1 : 0);
                break;
            case BackplaneOperation.Get when found && connection!.IsOpen:
                kind = 1;
                payload = WriteSnapshot(connection);
                break;
            case BackplaneOperation.UserConnections:
                payload = System.Text.Encoding.UTF8.GetBytes(string.Join('\n', _registry.OfUser(request.Target).Where(c => c.IsOpen).Select(c => c.Id)));
                break;
            case BackplaneOperation.SetAttributes when found && connection!.IsOpen:
                foreach (var (key, value) in ReadChanges(request.Payload))
                {
                    if (value is null)
                    {
                        connection.Attributes.Remove(key);
                    }
                    else
                    {
                        connection.Attributes[key] = value;
                    }
                }

                kind = 1;
                break;
        }

        var reply = new BackplaneMessage(BackplaneOperation.Reply, request.Correlation, _node.Id, "", "", kind, payload).ToBytes();
        _ = ReplyAsync(request.Origin, reply);
    }

    private async Task ReplyAsync(string nodeId, byte[] reply)
    {
        try
        {
            await _outbox.Enqueue(nodeId, reply);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException or BackplaneUnavailableException)
        {
            Log.ReplyFailed(_logger, nodeId, ex.GetType().Name);
        }
    }

    private static byte[] WriteSnapshot(GatewayConnection connection)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(connection.Id);
            writer.Write(connection.ConnectedAt.UtcTicks);
            writer.Write(connection.LastActiveAt.UtcTicks);
            writer.Write(connection.SourceIp);
            writer.Write(connection.UserAgent is not null);
            writer.Write(connection.UserAgent ?? "");
            var attributes = connection.AttributesSnapshot();
            writer.Write(attributes.Count);
            foreach (var (key, value) in attributes)
            {
                writer.Write(key);
                writer.Write(value);
            }

            // Added later: a reader that stops before these still reads the fields above.
            writer.Write(connection.UserId is not null);
            writer.Write(connection.UserId ?? "");
            writer.Write(connection.Identity?.Method ?? "anonymous");
            var subscriptions = connection.SubscriptionsSnapshot();
            writer.Write(subscriptions.Length);
            foreach (var pattern in subscriptions)
            {
                writer.Write(pattern);
            }

            writer.Write(connection.QueuedMessages);
        }

        return buffer.ToArray();
    }

    private static ConnectionSnapshot ReadSnapshot(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var id = reader.ReadString();
        var connectedAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var lastActiveAt = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
        var sourceIp = reader.ReadString();
        var hasUserAgent = reader.ReadBoolean();
        var userAgent = reader.ReadString();
        var count = reader.ReadInt32();
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            attributes[reader.ReadString()] = reader.ReadString();
        }

        var snapshot = new ConnectionSnapshot(id, connectedAt, lastActiveAt, sourceIp, hasUserAgent ? userAgent : null, attributes);
        if (reader.BaseStream.Position == reader.BaseStream.Length)
        {
            return snapshot; // from a node that does not write the fields below
        }

        var hasUser = reader.ReadBoolean();
        var userId = reader.ReadString();
        var method = reader.ReadString();
        var patterns = new string[reader.ReadInt32()];
        for (var i = 0; i < patterns.Length; i++)
        {
            patterns[i] = reader.ReadString();
        }

        return snapshot with { UserId = hasUser ? userId : null, AuthMethod = method, Subscriptions = patterns, QueuedMessages = reader.ReadInt32() };
    }

    private static byte[] WriteChanges(IReadOnlyDictionary<string, string?> changes)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(changes.Count);
            foreach (var (key, value) in changes)
            {
                writer.Write(key);
                writer.Write(value is not null);
                writer.Write(value ?? "");
            }
        }

        return buffer.ToArray();
    }

    private static List<KeyValuePair<string, string?>> ReadChanges(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        var count = reader.ReadInt32();
        var changes = new List<KeyValuePair<string, string?>>(Math.Min(count, 1024));
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            var has = reader.ReadBoolean();
            var value = reader.ReadString();
            changes.Add(new(key, has ? value : null));
        }

        return changes;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "Node {NodeId} announced on Redis (channels subscribed, heartbeat set)")]
        public static partial void Announced(ILogger logger, string nodeId);

        [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "Redis connection lost ({FailureType}); local connections go on, cross-node operations answer 503")]
        public static partial void RedisLost(ILogger logger, string failureType);

        [LoggerMessage(EventId = 1603, Level = LogLevel.Information, Message = "Redis connection restored; re-announcing this node")]
        public static partial void RedisRestored(ILogger logger);

        [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "Announcing this node on Redis failed ({Kind}); retrying on the next heartbeat")]
        public static partial void AnnounceFailed(ILogger logger, string kind);

        [LoggerMessage(EventId = 1605, Level = LogLevel.Warning, Message = "Answering node {NodeId} failed ({Kind})")]
        public static partial void ReplyFailed(ILogger logger, string nodeId, string kind);

        [LoggerMessage(EventId = 1607, Level = LogLevel.Warning, Message = "An event published to Redis for topic {Topic} was dropped: {Reason}")]
        public static partial void EventRefused(ILogger logger, string topic, string reason);

        [LoggerMessage(EventId = 1606, Level = LogLevel.Error, Message = "A backplane message ({Operation}) could not be handled")]
        public static partial void MessageFailed(ILogger logger, Exception exception, string operation);
    }
}
