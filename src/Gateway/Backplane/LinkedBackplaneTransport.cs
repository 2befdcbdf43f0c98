using System.Collections.Concurrent;

namespace Gateway.Backplane;

/// <summary>
/// An engine's transport with the direct link (<see cref="NodeLink"/>) in front of it: directed calls and their
/// answers to a node whose liveness record names a link go on that link while it is up; everything else, and every
/// call the link cannot carry, goes through the engine. The node's own record names its link.
/// </summary>
internal sealed class LinkedBackplaneTransport(IBackplaneTransport engine, NodeLink link) : IBackplaneTransport
{
    // Other nodes' link addresses, learnt from their liveness records; null: none (an earlier version, a node without
    // the link), or not learnt yet. Bounded: ids come from connection ids. A node id is new at every start, so an
    // address learnt once holds for the node's life.
    private readonly ConcurrentDictionary<string, string?> _addresses = new(StringComparer.Ordinal);
    private string _self = "";

    public string Engine => engine.Engine;

    public bool IsConnected => engine.IsConnected;

    public bool ConsecutiveOffsets => engine.ConsecutiveOffsets;

    public bool NumbersBusEvents => engine.NumbersBusEvents;

    public Task ConnectAsync(string nodeId, IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        _self = nodeId;
        link.Start(nodeId, receiver, engine);
        return engine.ConnectAsync(nodeId, receiver, cancellationToken);
    }

    public Task SubscribeAsync() => engine.SubscribeAsync();

    public Task<long> PublishToNodeAsync(string nodeId, byte[] message) =>
        ViaLink(nodeId, message, counted: true) ?? engine.PublishToNodeAsync(nodeId, message);

    public Task SendToNodeAsync(string nodeId, byte[] message) =>
        ViaLink(nodeId, message, counted: false) ?? engine.SendToNodeAsync(nodeId, message);

    public Task PublishToAllAsync(byte[] message) => engine.PublishToAllAsync(message);

    public Task RenewLivenessAsync(string nodeId, string value, TimeSpan ttl) =>
        engine.RenewLivenessAsync(nodeId, nodeId == _self ? LivenessRecord.With(value, link.Advertised) : value, ttl);

    public Task<string?> ReadLivenessAsync(string nodeId) => engine.ReadLivenessAsync(nodeId);

    public Task RemoveLivenessAsync(string nodeId) => engine.RemoveLivenessAsync(nodeId);

    public Task<IReadOnlyList<string>> LiveNodesAsync() => engine.LiveNodesAsync();

    public Task<bool> SetKeyAsync(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent) => engine.SetKeyAsync(key, value, ttl, onlyIfAbsent);

    public Task<byte[]?> GetKeyAsync(string key) => engine.GetKeyAsync(key);

    public Task DeleteKeyAsync(string key) => engine.DeleteKeyAsync(key);

    public Task<long> AppendHistoryAsync(HistoryEvent historyEvent) => engine.AppendHistoryAsync(historyEvent);

    public Task<HistoryPosition?> AppendHistoryAtAsync(HistoryEvent historyEvent) => engine.AppendHistoryAtAsync(historyEvent);

    public Task<bool> PublishEventAsync(string topic, string type, byte[] data) => engine.PublishEventAsync(topic, type, data);

    public Task<bool> PublishEventAsync(string topic, string type, byte[] data, IReadOnlySet<string> exclude) => engine.PublishEventAsync(topic, type, data, exclude);

    public Task<bool> PublishEventAsync(string topic, string type, byte[] data, EventOrigin from) => engine.PublishEventAsync(topic, type, data, from);

    public Task<SharedTopicHistory> ReadHistoryAsync(string topic, TimeSpan ttl) => engine.ReadHistoryAsync(topic, ttl);

    private Task<long>? ViaLink(string nodeId, byte[] message, bool counted)
    {
        if (nodeId == _self)
        {
            return null;
        }

        if (_addresses.TryGetValue(nodeId, out var address))
        {
            return address is null ? null : link.TrySend(nodeId, address, message, counted);
        }

        if (_addresses.Count >= 1024)
        {
            _addresses.Clear();
        }

        if (_addresses.TryAdd(nodeId, null))
        {
            _ = LearnAsync(nodeId);
        }

        return null;
    }

    private async Task LearnAsync(string nodeId)
    {
        try
        {
            if (await engine.ReadLivenessAsync(nodeId) is { } value)
            {
                _addresses[nodeId] = LivenessRecord.LinkAddress(value);
                return;
            }
        }
        catch (BackplaneUnavailableException)
        {
        }

        // No record to read (a node gone, or the store unreachable): asked again next time.
        _addresses.TryRemove(nodeId, out _);
    }
}
