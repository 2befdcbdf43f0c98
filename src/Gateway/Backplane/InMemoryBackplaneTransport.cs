using System.Text;
using System.Threading.Channels;

namespace Gateway.Backplane;

/// <summary>
/// One node's <see cref="IBackplaneTransport"/> on an <see cref="InMemoryBackplaneNetwork"/>: N nodes of one process
/// run the whole cluster protocol through it. Deliveries reach the node one at a time, in order, off the publisher's thread.
/// </summary>
public sealed class InMemoryBackplaneTransport : IBackplaneTransport, IAsyncDisposable
{
    internal const string LivenessPrefix = "liveness:";

    private readonly InMemoryBackplaneNetwork _network;
    private readonly Channel<Action<IBackplaneReceiver>> _inbox = Channel.CreateUnbounded<Action<IBackplaneReceiver>>(new() { SingleReader = true });
    private string _nodeId = "";
    private IBackplaneReceiver? _receiver;
    private Task? _reading;
    private volatile bool _subscribed;

    internal InMemoryBackplaneTransport(InMemoryBackplaneNetwork network) => _network = network;

    /// <inheritdoc />
    public string Engine => "in-memory";

    /// <inheritdoc />
    public bool IsConnected => _subscribed && !_network.IsDown;

    /// <inheritdoc />
    public bool ConsecutiveOffsets => _network.ConsecutiveOffsets;

    /// <inheritdoc />
    public Task ConnectAsync(string nodeId, IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _nodeId = nodeId;
        _receiver = receiver;
        _reading = Task.Run(ReadAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task SubscribeAsync()
    {
        if (!_subscribed)
        {
            _network.Listen(_nodeId, this);
            _subscribed = true;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> PublishToNodeAsync(string nodeId, byte[] message) => Task.FromResult(_network.Publish(nodeId, message));

    /// <inheritdoc />
    public Task PublishToAllAsync(byte[] message)
    {
        _network.PublishAll(message);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RenewLivenessAsync(string nodeId, string value, TimeSpan ttl) => SetKeyAsync(LivenessPrefix + nodeId, Encoding.UTF8.GetBytes(value), ttl, onlyIfAbsent: false);

    /// <inheritdoc />
    public Task<string?> ReadLivenessAsync(string nodeId) =>
        Task.FromResult(_network.Get(LivenessPrefix + nodeId) is { } value ? Encoding.UTF8.GetString(value) : null);

    /// <inheritdoc />
    public Task RemoveLivenessAsync(string nodeId) => DeleteKeyAsync(LivenessPrefix + nodeId);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> LiveNodesAsync() => Task.FromResult(_network.LiveNodes());

    /// <inheritdoc />
    public Task<bool> SetKeyAsync(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent) => Task.FromResult(_network.Set(key, value, ttl, onlyIfAbsent));

    /// <inheritdoc />
    public Task<byte[]?> GetKeyAsync(string key) => Task.FromResult(_network.Get(key));

    /// <inheritdoc />
    public Task DeleteKeyAsync(string key)
    {
        _network.Delete(key);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> AppendHistoryAsync(HistoryEvent historyEvent)
    {
        ArgumentNullException.ThrowIfNull(historyEvent);
        return Task.FromResult(_network.Append(historyEvent.Topic, historyEvent.FramePrefix, historyEvent.Size, historyEvent.Ttl).Offset);
    }

    /// <inheritdoc />
    public Task<HistoryPosition?> AppendHistoryAtAsync(HistoryEvent historyEvent)
    {
        ArgumentNullException.ThrowIfNull(historyEvent);
        return Task.FromResult<HistoryPosition?>(_network.Append(historyEvent.Topic, historyEvent.FramePrefix, historyEvent.Size, historyEvent.Ttl));
    }

    /// <inheritdoc />
    public Task<SharedTopicHistory> ReadHistoryAsync(string topic, TimeSpan ttl) => Task.FromResult(_network.Read(topic, ttl));

    /// <summary>Stops listening (its liveness record stays until it lapses, as after a crash) and drains what was delivered.</summary>
    public async ValueTask DisposeAsync()
    {
        _subscribed = false;
        _network.Leave(_nodeId, this);
        _inbox.Writer.TryComplete();
        if (_reading is not null)
        {
            await _reading;
        }
    }

    internal void Deliver(Action<IBackplaneReceiver> delivery) => _inbox.Writer.TryWrite(delivery);

    private async Task ReadAsync()
    {
        await foreach (var delivery in _inbox.Reader.ReadAllAsync())
        {
            delivery(_receiver!);
        }
    }
}
