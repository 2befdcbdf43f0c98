using System.Globalization;
using Gateway.Backplane;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// The backplane's transport on Redis. Each node subscribes to one channel of its own (<c>{prefix}:node:{{nodeId}}</c>),
/// the shared <c>{prefix}:all</c> and <c>{prefix}:history</c> channels, and the event bus pattern
/// <c>{prefix}:events:*</c>; its liveness record is <c>{prefix}:node:{nodeId}:alive</c>, listed in the set
/// <c>{prefix}:nodes</c>; every other key is <c>{prefix}:{key}</c>. Topic history is numbered by a Lua script.
/// </summary>
public sealed partial class RedisBackplaneTransport(IOptions<RedisOptions> options, ILogger<RedisBackplaneTransport> logger) : IBackplaneTransport, IAsyncDisposable
{
    private readonly RedisOptions _options = options.Value;
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private ConnectionMultiplexer? _redis;
    private IBackplaneReceiver? _receiver;
    private string _nodeId = "";
    private int _subscribed;

    // On a Redis Cluster a script may SPUBLISH only to a channel of its own shard, and the history channel's shard is
    // seldom the topic's: there the history channel is a classic one (PUBLISH from the topic's shard reaches every
    // node, a topic's events in order). Learnt from the first connected call.
    private bool? _cluster;

    private string Prefix => _options.ChannelPrefix;

    /// <inheritdoc />
    public string Engine => "redis";

    /// <inheritdoc />
    public bool IsConnected =>
        _redis is { IsConnected: true } redis && Volatile.Read(ref _subscribed) == 1 && redis.GetSubscriber().IsConnected(NodeChannel(_nodeId));

    /// <inheritdoc />
    public async Task ConnectAsync(string nodeId, IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _nodeId = nodeId;
        _receiver = receiver;
        var configuration = ConfigurationOptions.Parse(_options.Configuration!);
        configuration.AbortOnConnectFail = false; // a node starts, and serves its own clients, with Redis down
        configuration.ClientName = "gateway-" + nodeId;

        // Nothing is queued while Redis is down: a call answered 503 was not sent, and is not delivered later.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        _redis.ConnectionFailed += (_, e) => Log.RedisLost(logger, e.FailureType.ToString());
        _redis.ConnectionRestored += (_, _) =>
        {
            Log.RedisRestored(logger);
            receiver.OnReconnected();
        };
    }

    /// <inheritdoc />
    public async Task SubscribeAsync()
    {
        // Subscribed once: the client restores its subscriptions after an outage by itself, and subscribing again
        // would add a second handler (every message handled twice).
        if (Volatile.Read(ref _subscribed) == 1 || !await _subscribing.WaitAsync(0))
        {
            return;
        }

        try
        {
            await RunAsync(async redis =>
            {
                var subscriber = redis.GetSubscriber();
                var receiver = _receiver!;

                // Message queues deliver in order, one at a time: pushes to one connection keep their order.
                (await subscriber.SubscribeAsync(NodeChannel(_nodeId))).OnMessage(m => receiver.OnMessage((byte[])m.Message!));
                (await subscriber.SubscribeAsync(Channel($"{Prefix}:all"))).OnMessage(m => receiver.OnMessage((byte[])m.Message!));

                // Redis as the event bus: services PUBLISH {prefix}:events:{topic} {"type":…,"data":…} themselves.
                var events = $"{Prefix}:events:";
                (await subscriber.SubscribeAsync(RedisChannel.Pattern(events + "*"))).OnMessage(m => receiver.OnBusEvent(new BusEvent(m.Channel.ToString()[events.Length..], (byte[]?)m.Message ?? [], BusEventForm.Envelope)));

                // Events of topics with history, numbered by the publish script, in offset order.
                (await subscriber.SubscribeAsync(HistoryChannel(redis))).OnMessage(m =>
                {
                    if (SharedTopicEvent.FromBytes((byte[])m.Message!) is { } sharedEvent)
                    {
                        receiver.OnSharedEvent(sharedEvent);
                    }
                });
                Volatile.Write(ref _subscribed, 1);
                return true;
            });
        }
        finally
        {
            _subscribing.Release();
        }
    }

    /// <inheritdoc />
    public Task<long> PublishToNodeAsync(string nodeId, byte[] message) => RunAsync(redis => redis.GetSubscriber().PublishAsync(NodeChannel(nodeId), message));

    /// <inheritdoc />
    public Task PublishToAllAsync(byte[] message) => RunAsync(redis => redis.GetSubscriber().PublishAsync(Channel($"{Prefix}:all"), message));

    /// <inheritdoc />
    public Task RenewLivenessAsync(string nodeId, string value, TimeSpan ttl) => RunAsync(redis =>
        Task.WhenAll(redis.GetDatabase().StringSetAsync(AliveKey(nodeId), value, ttl), redis.GetDatabase().SetAddAsync(NodesKey, nodeId)));

    /// <inheritdoc />
    public Task<string?> ReadLivenessAsync(string nodeId) => RunAsync(async redis => (string?)await redis.GetDatabase().StringGetAsync(AliveKey(nodeId)));

    /// <inheritdoc />
    public Task RemoveLivenessAsync(string nodeId) => RunAsync(redis =>
        Task.WhenAll(redis.GetDatabase().KeyDeleteAsync(AliveKey(nodeId)), redis.GetDatabase().SetRemoveAsync(NodesKey, nodeId)));

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> LiveNodesAsync() => RunAsync<IReadOnlyList<string>>(async redis =>
    {
        var database = redis.GetDatabase();
        var ids = (await database.SetMembersAsync(NodesKey)).Select(v => v.ToString()).ToList();
        var alive = await Task.WhenAll(ids.Select(id => database.KeyExistsAsync(AliveKey(id))));
        foreach (var lapsed in ids.Where((_, i) => !alive[i]))
        {
            // Its record lapsed: the node is gone (it lists itself again with its next heartbeat if not).
            _ = database.SetRemoveAsync(NodesKey, lapsed, CommandFlags.FireAndForget);
        }

        return [.. ids.Where((_, i) => alive[i])];
    });

    /// <inheritdoc />
    public Task<bool> SetKeyAsync(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent) =>
        RunAsync(redis => redis.GetDatabase().StringSetAsync($"{Prefix}:{key}", value, ttl, onlyIfAbsent ? When.NotExists : When.Always));

    /// <inheritdoc />
    public Task<byte[]?> GetKeyAsync(string key) => RunAsync(async redis => (byte[]?)await redis.GetDatabase().StringGetAsync($"{Prefix}:{key}"));

    /// <inheritdoc />
    public Task DeleteKeyAsync(string key) => RunAsync(redis => redis.GetDatabase().KeyDeleteAsync($"{Prefix}:{key}"));

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
        return {offset, epoch}
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
    public async Task<long> AppendHistoryAsync(HistoryEvent historyEvent) => (await AppendHistoryAtAsync(historyEvent))!.Offset;

    /// <inheritdoc />
    public Task<HistoryPosition?> AppendHistoryAtAsync(HistoryEvent historyEvent)
    {
        ArgumentNullException.ThrowIfNull(historyEvent);
        var topic = historyEvent.Topic;
        return RunAsync<HistoryPosition?>(async redis => Position((RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(PublishScript, new
        {
            epochKey = HistoryKey(topic, "epoch"),
            offsetKey = HistoryKey(topic, "offset"),
            streamKey = HistoryKey(topic, "events"),
            newEpoch = NewEpoch(),
            prefix = (RedisValue)historyEvent.FramePrefix,
            size = historyEvent.Size,
            ttl = (long)historyEvent.Ttl.TotalMilliseconds,
            channel = (RedisValue)$"{Prefix}:history",
            publish = ShardedHistory(redis) ? "SPUBLISH" : "PUBLISH",
            topic,
        }))!));
    }

    // The publish script answers {offset, epoch}.
    private static HistoryPosition Position(RedisResult[] answer) => new((string)answer[1]!, (long)answer[0]);

    /// <inheritdoc />
    public Task<SharedTopicHistory> ReadHistoryAsync(string topic, TimeSpan ttl) => RunAsync(async redis =>
    {
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ReadScript, new
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
            // An entry is [id, [field, value, …]]: the id is "{offset}-1", the fields f (frame) and t (unix ms).
            var parts = (RedisResult[])entry!;
            var fields = (RedisResult[])parts[1]!;
            byte[] frame = [];
            long ms = 0;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                if ((string?)fields[i] == "f")
                {
                    frame = (byte[])fields[i + 1]!;
                }
                else if ((string?)fields[i] == "t")
                {
                    ms = (long)fields[i + 1];
                }
            }

            events.Add((long.Parse(((string)parts[0]!).Split('-')[0], CultureInfo.InvariantCulture), DateTimeOffset.FromUnixTimeMilliseconds(ms), frame));
        }

        // Offsets count 1, 2, …: nothing of the epoch was dropped when the first kept is 1, or none was ever numbered.
        var lastOffset = long.Parse((string)result[1]!, CultureInfo.InvariantCulture);
        return new SharedTopicHistory((string)result[0]!, lastOffset, events, Complete: events.Count > 0 ? events[0].Item1 == 1 : lastOffset == 0);
    });

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _subscribing.Dispose();
    }

    // The topic is the hash tag: a topic's three keys live in one cluster slot, as a script needs.
    private RedisKey HistoryKey(string topic, string part) => $"{Prefix}:history:{{{topic}}}:{part}";

    private static string NewEpoch() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));

    // A node's channel carries its id as the hash tag: sharded, it lives on one shard, with an exact receiver count.
    private RedisChannel NodeChannel(string nodeId) => Channel($"{Prefix}:node:{{{nodeId}}}");

    private RedisChannel Channel(string name) => _options.ShardedPubSub ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);

    private bool ShardedHistory(ConnectionMultiplexer redis) => _options.ShardedPubSub && !(_cluster ??= redis.GetServers().Any(s => s.ServerType == ServerType.Cluster));

    private RedisChannel HistoryChannel(ConnectionMultiplexer redis) => ShardedHistory(redis) ? RedisChannel.Sharded($"{Prefix}:history") : RedisChannel.Literal($"{Prefix}:history");

    private RedisKey AliveKey(string nodeId) => $"{Prefix}:node:{nodeId}:alive";

    private RedisKey NodesKey => $"{Prefix}:nodes";

    /// <summary>Runs a call on a connected Redis; fails fast, as the seam requires, when Redis is known to be down or the call fails.</summary>
    private async Task<T> RunAsync<T>(Func<ConnectionMultiplexer, Task<T>> call)
    {
        try
        {
            return await call(_redis is { IsConnected: true } redis ? redis : throw new BackplaneUnavailableException("Redis is not connected."));
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
        {
            throw new BackplaneUnavailableException("Redis cannot be reached: " + ex.GetType().Name, ex);
        }
    }

    private Task<bool> RunAsync(Func<ConnectionMultiplexer, Task> call) => RunAsync(async redis =>
    {
        await call(redis);
        return true;
    });

    private static partial class Log
    {
        [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "Redis connection lost ({FailureType}); local connections go on, cross-node operations answer 503")]
        public static partial void RedisLost(ILogger logger, string failureType);

        [LoggerMessage(EventId = 1603, Level = LogLevel.Information, Message = "Redis connection restored; re-announcing this node")]
        public static partial void RedisRestored(ILogger logger);
    }
}
