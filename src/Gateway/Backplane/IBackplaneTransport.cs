namespace Gateway.Backplane;

/// <summary>
/// What <see cref="ClusterBackplane"/> needs of a distributed store to join N nodes: it moves bytes and keeps a few
/// keys, and knows nothing of connections, requests or topics. Every method that reaches the store throws
/// <see cref="BackplaneUnavailableException"/> (and nothing else) when the store cannot be reached; none of them waits
/// for the store to come back. An adapter passes the spec suite (<c>BackplaneSpec</c>) to be an adapter.
/// </summary>
public interface IBackplaneTransport
{
    /// <summary>The store's name in lower case (<c>redis</c>), as the dashboard shows it.</summary>
    string Engine { get; }

    /// <summary>True while the store is reachable and this node's channels are subscribed; readiness reports it.</summary>
    bool IsConnected { get; }

    /// <summary>
    /// True when a topic's offsets go 1, 2, 3 … within an epoch, so that a jump means events were missed; false when
    /// they are increasing with gaps, as a JetStream stream sequence shared by many topics is. A transport with gaps
    /// cannot show a missed event by its offset: it calls <see cref="IBackplaneReceiver.OnReconnected"/> whenever
    /// shared events may have been missed (a reconnect, a message it dropped).
    /// </summary>
    bool ConsecutiveOffsets => true;

    /// <summary>
    /// Connects as <paramref name="nodeId"/>; what arrives later goes to <paramref name="receiver"/>. Must not fail
    /// because the store is down: the node serves its own clients meanwhile, and the transport reconnects by itself
    /// (calling <see cref="IBackplaneReceiver.OnReconnected"/>).
    /// </summary>
    Task ConnectAsync(string nodeId, IBackplaneReceiver receiver, CancellationToken cancellationToken);

    /// <summary>
    /// Subscribes this node's channel, the all-nodes channel, the shared-history channel and the event bus, once:
    /// called again (every heartbeat) when already subscribed it does nothing, and it never adds a second handler.
    /// Messages of one channel reach the receiver one at a time, in the order they were published.
    /// </summary>
    Task SubscribeAsync();

    /// <summary>
    /// Publishes <paramref name="message"/> to <paramref name="nodeId"/>'s channel; the task gives how many receivers
    /// got it, exactly: 0 means nobody listens on that channel (no subscriber, or no responder), which the protocol
    /// reads as "the node is gone or reconnecting".
    /// </summary>
    Task<long> PublishToNodeAsync(string nodeId, byte[] message);

    /// <summary>
    /// Sends answers to <paramref name="nodeId"/>'s channel, where nobody needs to learn whether they were received (a
    /// node that asked and went away has no use for them): a transport that pays for the receiver count of
    /// <see cref="PublishToNodeAsync"/> (NATS acknowledges each request) sends these without it.
    /// </summary>
    Task SendToNodeAsync(string nodeId, byte[] message) => PublishToNodeAsync(nodeId, message);

    /// <summary>Publishes <paramref name="message"/> to every node's all-nodes subscription, this node's included.</summary>
    Task PublishToAllAsync(byte[] message);

    /// <summary>Sets (or renews) <paramref name="nodeId"/>'s liveness record to <paramref name="value"/> for <paramref name="ttl"/>, and lists the node among the live ones.</summary>
    Task RenewLivenessAsync(string nodeId, string value, TimeSpan ttl);

    /// <summary>The value of <paramref name="nodeId"/>'s liveness record, or null once it lapsed or was removed.</summary>
    Task<string?> ReadLivenessAsync(string nodeId);

    /// <summary>Removes <paramref name="nodeId"/>'s liveness record: the node left (its ids answer 410 at once).</summary>
    Task RemoveLivenessAsync(string nodeId);

    /// <summary>The nodes whose liveness record has not lapsed (in no particular order).</summary>
    Task<IReadOnlyList<string>> LiveNodesAsync();

    /// <summary>
    /// Sets a shared key for <paramref name="ttl"/>; with <paramref name="onlyIfAbsent"/>, only when no live value is
    /// there, atomically (the claim of an idempotency key). Returns whether it was set. Keys are protocol names such
    /// as <c>session:{connectionId}</c>; the adapter may prefix them, never change them otherwise.
    /// </summary>
    Task<bool> SetKeyAsync(string key, byte[] value, TimeSpan ttl, bool onlyIfAbsent);

    /// <summary>The value of a shared key, or null when it is absent or expired.</summary>
    Task<byte[]?> GetKeyAsync(string key);

    /// <summary>Deletes a shared key (nothing when it is absent).</summary>
    Task DeleteKeyAsync(string key);

    /// <summary>
    /// In one atomic step: numbers an event of a topic (increasing within the topic's epoch: 1, 2, … with
    /// <see cref="ConsecutiveOffsets"/>, with gaps without; a lapsed history starts a new epoch), makes its frame (the
    /// frame prefix then <c>,"offset":n}</c>), keeps the topic's last events within the event's size and TTL, and
    /// hands it as a <see cref="SharedTopicEvent"/> to every node's
    /// <see cref="IBackplaneReceiver.OnSharedEvent"/>, this one included, in offset order. Returns the offset.
    /// </summary>
    Task<long> AppendHistoryAsync(HistoryEvent historyEvent);

    /// <summary>
    /// As <see cref="AppendHistoryAsync"/>, returning the epoch the event was numbered in with its offset (what a client
    /// that published it is told). A transport that cannot tell the epoch returns null.
    /// </summary>
    async Task<HistoryPosition?> AppendHistoryAtAsync(HistoryEvent historyEvent)
    {
        await AppendHistoryAsync(historyEvent);
        return null;
    }

    /// <summary>
    /// Puts a gateway-side publish of a topic without history on the store's event bus, where every node (this one
    /// included) takes it in like a service's event and services subscribed to the bus see it too. False when this
    /// transport does not carry it there: it then goes to the nodes on the all-nodes channel.
    /// </summary>
    Task<bool> PublishEventAsync(string topic, string type, byte[] data) => Task.FromResult(false);

    /// <summary>
    /// As <see cref="PublishEventAsync(string, string, byte[])"/>, carrying connections that must not receive it (in a
    /// header that only a gateway's own publish is read for). False when this transport cannot carry the exclusion
    /// there: it then goes to the nodes on the all-nodes channel.
    /// </summary>
    Task<bool> PublishEventAsync(string topic, string type, byte[] data, IReadOnlySet<string> exclude) =>
        exclude.Count == 0 ? PublishEventAsync(topic, type, data) : Task.FromResult(false);

    /// <summary>
    /// As <see cref="PublishEventAsync(string, string, byte[])"/>, for an event a client published, carrying
    /// <paramref name="from"/> (in a header the nodes read back). False when this transport does not carry it there: it
    /// then goes to the nodes on the all-nodes channel, the origin in front of the data.
    /// </summary>
    Task<bool> PublishEventAsync(string topic, string type, byte[] data, EventOrigin from) => Task.FromResult(false);

    /// <summary>
    /// True when the store numbers the events services publish for topics with history itself, and hands them to
    /// every node as shared events (JetStream); false when one node, holding the numbering lease, numbers them.
    /// </summary>
    bool NumbersBusEvents => false;

    /// <summary>
    /// A topic's history: its epoch (made now, for <paramref name="ttl"/>, when it has none), last offset, kept events,
    /// and whether none of the epoch's events was dropped before the first one kept (<see cref="SharedTopicHistory.Complete"/>).
    /// </summary>
    Task<SharedTopicHistory> ReadHistoryAsync(string topic, TimeSpan ttl);
}
