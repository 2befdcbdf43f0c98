using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Gateway.Nats;

/// <summary>
/// The backplane's transport on NATS. Each node subscribes to a subject of its own (<c>{prefix}.node.{nodeId}</c>),
/// reached by request/reply: the node acknowledges each request on receipt, so "no responders" tells at once that
/// nobody listens there. Broadcasts, user sends and presence go on <c>{prefix}.all</c>. Liveness and shared keys are
/// key-value buckets (<see cref="NatsKeyValues"/>); topic history is on JetStream streams
/// (<see cref="NatsHistoryStreams"/>). The event bus is NATS itself: the subjects of
/// <see cref="NatsOptions.EventSubjects"/> are topics, delivered to every node by a plain subscription (at most once),
/// except the subjects of history streams, which every node reads from the stream.
/// </summary>
public sealed partial class NatsBackplaneTransport : IBackplaneTransport, IAsyncDisposable
{
    private readonly NatsOptions _options;
    private readonly IReadOnlyList<TopicHistoryOptions> _rules;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private NatsConnection? _nats;
    private NatsKVContext? _kv;
    private NatsKeyValues? _keys;
    private NatsHistoryStreams? _streams;
    private IBackplaneReceiver? _receiver;
    private string _nodeId = "";
    private int _subscribed;
    private int _assetsReady;
    private int _opened;
    private int _disposed;

    /// <summary>Creates the transport; it connects when the backplane starts.</summary>
    public NatsBackplaneTransport(IOptions<NatsOptions> options, IOptions<GatewayOptions> gateway, TimeProvider time, ILogger<NatsBackplaneTransport> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(gateway);
        _options = options.Value;
        _rules = [.. gateway.Value.Topics.History];
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    public string Engine => "nats";

    /// <inheritdoc />
    public bool IsConnected => _nats is { ConnectionState: NatsConnectionState.Open } && Volatile.Read(ref _subscribed) == 1 && Volatile.Read(ref _assetsReady) == 1;

    /// <inheritdoc />
    public bool NumbersBusEvents => true;

    /// <summary>Offsets are stream sequences, which the topics of one stream share: increasing, with gaps.</summary>
    public bool ConsecutiveOffsets => false;

    private string Prefix => _options.SubjectPrefix;

    /// <inheritdoc />
    public async Task ConnectAsync(string nodeId, IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _nodeId = nodeId;
        _receiver = receiver;
        var nats = new NatsConnection(NatsConnectionOptions.Create(_options, nodeId));
        nats.ConnectionOpened += (_, _) =>
        {
            if (Interlocked.Exchange(ref _opened, 1) == 1)
            {
                // Subscriptions come back by themselves; streams and buckets are made again in case the servers lost them.
                Log.NatsRestored(_logger);
                Volatile.Write(ref _assetsReady, 0);
                receiver.OnReconnected();
            }

            return ValueTask.CompletedTask;
        };
        nats.ConnectionDisconnected += (_, e) =>
        {
            Log.NatsLost(_logger, e.Message);
            return ValueTask.CompletedTask;
        };
        _nats = nats;
        var js = new NatsJSContext(nats);
        var kv = new NatsKVContext(js);
        _streams = new NatsHistoryStreams(js, _options, _rules, _logger);
        _kv = kv;

        // With NATS down the first attempt fails and the client goes on trying by itself; the node starts meanwhile.
        var connecting = nats.ConnectAsync().AsTask();
        if (await Task.WhenAny(connecting, Task.Delay(TimeSpan.FromSeconds(2), _time, cancellationToken)) == connecting)
        {
            try
            {
                await connecting;
            }
            catch (NatsException ex)
            {
                Log.NatsLost(_logger, ex.Message);
            }
        }
        else
        {
            _ = connecting.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
    }

    /// <inheritdoc />
    public async Task SubscribeAsync()
    {
        if ((Volatile.Read(ref _subscribed) == 1 && Volatile.Read(ref _assetsReady) == 1) || !await _subscribing.WaitAsync(0))
        {
            return;
        }

        try
        {
            var nats = Connected();
            if (Volatile.Read(ref _assetsReady) == 0)
            {
                await RunAsync(async () =>
                {
                    // Buckets and streams first: a node listed as live must be able to keep its promises. Made at once:
                    // on a clustered JetStream each is a round of the meta leader's consensus.
                    var replicas = _options.JetStream.Replicas;
                    var nodes = _kv!.CreateOrUpdateStoreAsync(NatsKeyValues.NodesBucket(Prefix, _options.NodeTtl, replicas)).AsTask();
                    var keys = _kv.CreateOrUpdateStoreAsync(NatsKeyValues.KeysBucket(Prefix, replicas)).AsTask();
                    var streams = _streams!.EnsureAsync(_stopping.Token);
                    await Task.WhenAll(nodes, keys, streams);
                    _keys = new NatsKeyValues(await nodes, await keys, _time);
                    Volatile.Write(ref _assetsReady, 1);
                    return true;
                });
            }

            if (Volatile.Read(ref _subscribed) == 0)
            {
                // Subscribed once: the client subscribes again by itself after an outage.
                var receiver = _receiver!;
                var node = await nats.SubscribeCoreAsync<byte[]>(NodeSubject(_nodeId));
                var all = await nats.SubscribeCoreAsync<byte[]>($"{Prefix}.all");
                var events = new List<INatsSub<byte[]>>();
                foreach (var subject in _options.IngestedSubjects)
                {
                    events.Add(await nats.SubscribeCoreAsync<byte[]>(subject));
                }

                _ = ReadNodeAsync(node, receiver);
                _ = ReadAllAsync(all, receiver);
                foreach (var sub in events)
                {
                    _ = ReadEventsAsync(sub, receiver);
                }

                _streams!.Start(receiver, _stopping.Token);
                Volatile.Write(ref _subscribed, 1);
            }
        }
        finally
        {
            _subscribing.Release();
        }
    }

    /// <inheritdoc />
    public Task<long> PublishToNodeAsync(string nodeId, byte[] message) => RunAsync(async () =>
    {
        try
        {
            var ack = await Connected().RequestAsync<byte[], byte[]>(NodeSubject(nodeId), message, replyOpts: new NatsSubOpts { Timeout = _options.RequestTimeout });
            return ack.HasNoResponders ? 0L : 1L;
        }
        catch (NatsNoRespondersException)
        {
            return 0L;
        }
        catch (NatsNoReplyException)
        {
            // Nobody acknowledged it in time: in a cluster, a request to a node that just left may still be routed to
            // the server it was on, where nobody answers "no responders". Judged as nobody listening: gone once its
            // liveness is gone, unavailable while it holds (slow, or NATS down).
            return 0L;
        }
    });

    /// <inheritdoc />
    public Task SendToNodeAsync(string nodeId, byte[] message) => RunAsync(async () =>
    {
        // No reply subject: the node does not acknowledge it.
        await Connected().PublishAsync(NodeSubject(nodeId), message);
        return true;
    });

    /// <inheritdoc />
    public Task PublishToAllAsync(byte[] message) => RunAsync(async () =>
    {
        var nats = Connected();
        await nats.PublishAsync($"{Prefix}.all", message);
        await ReachedAsync(nats);
        return true;
    });

    /// <inheritdoc />
    public Task RenewLivenessAsync(string nodeId, string value, TimeSpan ttl) => RunAsync(async () =>
    {
        await Keys().RenewLivenessAsync(nodeId, value);
        return true;
    });

    /// <inheritdoc />
    public Task<string?> ReadLivenessAsync(string nodeId) => RunAsync(() => Keys().ReadLivenessAsync(nodeId));

    /// <inheritdoc />
    public Task RemoveLivenessAsync(string nodeId) => RunAsync(async () =>
    {
        await Keys().RemoveLivenessAsync(nodeId);
        return true;
    });

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> LiveNodesAsync() => RunAsync(() => Keys().LiveNodesAsync());

    /// <inheritdoc />
    public Task<bool> SetKeyAsync(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent) => RunAsync(() => Keys().SetKeyAsync(key, value, ttl, onlyIfAbsent));

    /// <inheritdoc />
    public Task<byte[]?> GetKeyAsync(string key) => RunAsync(() => Keys().GetKeyAsync(key));

    /// <inheritdoc />
    public Task DeleteKeyAsync(string key) => RunAsync(async () =>
    {
        await Keys().DeleteKeyAsync(key);
        return true;
    });

    /// <inheritdoc />
    public async Task<long> AppendHistoryAsync(HistoryEvent historyEvent) => (await AppendHistoryAtAsync(historyEvent))!.Offset;

    /// <inheritdoc />
    public Task<HistoryPosition?> AppendHistoryAtAsync(HistoryEvent historyEvent) => RunAsync<HistoryPosition?>(async () => await _streams!.AppendAsync(historyEvent, _stopping.Token));

    /// <inheritdoc />
    public Task<SharedTopicHistory> ReadHistoryAsync(string topic, TimeSpan ttl) => RunAsync(() => _streams!.ReadAsync(topic, _stopping.Token));

    /// <inheritdoc />
    public Task<bool> PublishEventAsync(string topic, string type, byte[] data) => PublishEventAsync(topic, type, data, NoOne);

    /// <inheritdoc />
    public async Task<bool> PublishEventAsync(string topic, string type, byte[] data, IReadOnlySet<string> exclude)
    {
        ArgumentNullException.ThrowIfNull(exclude);
        if (!_options.PublishToBus || !Ingests(topic))
        {
            return false;
        }

        return await RunAsync(async () =>
        {
            // As a service publishes it: every node, this one included, takes it in from the bus. An exclusion rides in a
            // header, marked as a gateway's own publish by the node header beside it.
            var headers = new NatsHeaders { [_options.TypeHeader] = type };
            if (exclude.Count > 0)
            {
                headers[ExcludeHeader] = string.Join(',', exclude);
                headers[NodeHeader] = _nodeId;
            }

            var nats = Connected();
            await nats.PublishAsync(topic, data, headers: headers);
            await ReachedAsync(nats);
            return true;
        });
    }

    /// <inheritdoc />
    public async Task<bool> PublishEventAsync(string topic, string type, byte[] data, EventOrigin from)
    {
        ArgumentNullException.ThrowIfNull(from);
        if (!_options.PublishToBus || !Ingests(topic))
        {
            return false;
        }

        return await RunAsync(async () =>
        {
            // As a service publishes it, with who published it in the origin header, read back by every node.
            var headers = new NatsHeaders { [_options.TypeHeader] = type, [FromHeader] = System.Text.Encoding.UTF8.GetString(from.ToJson()) };
            var nats = Connected();
            await nats.PublishAsync(topic, data, headers: headers);
            await ReachedAsync(nats);
            return true;
        });
    }

    /// <summary>
    /// Who published an event a client published, as <c>{"connectionId":"…","userId":"…"|null}</c>: trusted as the type
    /// header is (whoever may publish on the bus may set it), and ignored when it is not one such object.
    /// </summary>
    public const string FromHeader = "Gateway-From";

    /// <summary>The origin header's value, read; null when there is none, more than one, or it is not an origin.</summary>
    public static EventOrigin? OriginOf(NatsHeaders? headers) =>
        headers is not null && headers.TryGetValue(FromHeader, out var values) && values.Count == 1 && values[0] is { } value
            ? EventOrigin.FromJson(System.Text.Encoding.UTF8.GetBytes(value))
            : null;

    /// <summary>
    /// The connections a gateway's own publish on the bus skips, comma-separated; read only with <see cref="NodeHeader"/>
    /// naming a node of the gateway (a service's event never carries an exclusion).
    /// </summary>
    public const string ExcludeHeader = "Gateway-Exclude";

    /// <summary>The node that published a gateway publish carrying <see cref="ExcludeHeader"/>.</summary>
    public const string NodeHeader = "Gateway-Node";

    private static readonly IReadOnlySet<string> NoOne = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The exclusion of a gateway's own publish; null for any other message.</summary>
    private static HashSet<string>? ExclusionOf(NatsHeaders? headers)
    {
        if (headers is null || !headers.TryGetValue(ExcludeHeader, out var excluded) || !headers.TryGetValue(NodeHeader, out var node)
            || node.Count != 1 || node[0] is not { Length: Gateway.Connections.ConnectionId.NodeIdLength })
        {
            return null;
        }

        return new HashSet<string>(excluded.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)), StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        if (_nats is not null)
        {
            await _nats.DisposeAsync();
        }

        _stopping.Dispose();
        _subscribing.Dispose();
    }

    /// <summary>True when a subject is one the gateway takes in from the bus as a topic.</summary>
    private bool Ingests(string subject)
    {
        if (IsOwn(subject))
        {
            return false;
        }

        foreach (var pattern in _options.IngestedSubjects)
        {
            if (TopicName.Matches(pattern, subject))
            {
                return true;
            }
        }

        return false;
    }

    // The gateway's own subjects, JetStream's and replies are never topics, whatever the ingested patterns say.
    private bool IsOwn(string subject) =>
        subject.StartsWith(Prefix + ".", StringComparison.Ordinal) || subject.StartsWith('$') || subject.StartsWith("_INBOX.", StringComparison.Ordinal);

    private string NodeSubject(string nodeId) => $"{Prefix}.node.{nodeId}";

    private async Task ReadNodeAsync(INatsSub<byte[]> sub, IBackplaneReceiver receiver)
    {
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(_stopping.Token))
            {
                if (msg.ReplyTo is not null)
                {
                    // The acknowledgement that someone listens here; the answer itself comes later, on the asker's subject.
                    await msg.ReplyAsync(headers: null, cancellationToken: _stopping.Token);
                }

                receiver.OnMessage(msg.Data ?? []);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReadAllAsync(INatsSub<byte[]> sub, IBackplaneReceiver receiver)
    {
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(_stopping.Token))
            {
                receiver.OnMessage(msg.Data ?? []);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ReadEventsAsync(INatsSub<byte[]> sub, IBackplaneReceiver receiver)
    {
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(_stopping.Token))
            {
                // A subject of a history stream comes from the stream, numbered; the gateway's own subjects never.
                if (IsOwn(msg.Subject) || _streams!.Covers(msg.Subject))
                {
                    continue;
                }

                receiver.OnBusEvent(new BusEvent(msg.Subject, msg.Data ?? [], BusEventForm.Body, NatsHistoryStreams.TypeOf(msg.Headers, _options.TypeHeader), ExclusionOf(msg.Headers), OriginOf(msg.Headers)));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Returns once the server has what this connection published so far (it answers a ping after it): a publish then
    /// completes when NATS has it, as a Redis PUBLISH does, so that two publishes made one after the other through
    /// two nodes reach every subscriber in that order.
    /// </summary>
    private static async Task ReachedAsync(NatsConnection nats) => await nats.PingAsync();

    private NatsConnection Connected() =>
        _nats is { ConnectionState: NatsConnectionState.Open } nats ? nats : throw new BackplaneUnavailableException("NATS is not connected.");

    private NatsKeyValues Keys() => _keys ?? throw new BackplaneUnavailableException("The key-value buckets are not made yet.");

    /// <summary>Runs a call on a connected NATS; fails fast, as the seam requires, when NATS is known to be down or the call fails.</summary>
    private async Task<T> RunAsync<T>(Func<Task<T>> call)
    {
        try
        {
            Connected();
            return await call();
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException or ObjectDisposedException || (ex is OperationCanceledException && !_stopping.IsCancellationRequested))
        {
            throw new BackplaneUnavailableException("NATS cannot be reached: " + ex.GetType().Name + ": " + ex.Message, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "NATS connection lost ({Reason}); local connections go on, cross-node operations answer 503")]
        public static partial void NatsLost(ILogger logger, string reason);

        [LoggerMessage(EventId = 1603, Level = LogLevel.Information, Message = "NATS connection restored; re-announcing this node")]
        public static partial void NatsRestored(ILogger logger);
    }
}
