using Gateway.Connections;

namespace Gateway.Backplane;

/// <summary>
/// Reaches connections held by other nodes. Sends to this node's own connections never come here:
/// <see cref="ConnectionSender"/> short-circuits them.
/// </summary>
public interface IBackplane
{
    /// <summary>True while other nodes can be reached (always for the single-node backplane); readiness reports it.</summary>
    bool IsAvailable => true;

    /// <summary>The engine that joins the nodes, as the dashboard names it (<c>redis</c>); <c>none</c> for a node alone.</summary>
    string Engine => "none";

    /// <summary>Who is present in which topic: this node's members and, as they reach it, every other node's.</summary>
    PresenceRoster Presence { get; }

    /// <summary>Which nodes have subscribers of which topics (kept for the topics whose webhooks want <c>occupied</c> and <c>vacated</c>).</summary>
    PresenceRoster Occupancy { get; }

    /// <summary>True on the one node that posts webhooks for the cluster: the live node with the lowest id (a node alone always).</summary>
    bool LeadsWebhooks => true;

    /// <summary>How long a call waits for other nodes before it answers without them (nothing to wait for when the node runs alone).</summary>
    TimeSpan RequestTimeout => TimeSpan.FromSeconds(5);

    /// <summary>Sends to a connection owned by another node.</summary>
    ValueTask<SendResult> SendAsync(string connectionId, OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Hands a message a Server-Sent Events client posted (or, with <paramref name="close"/>, its close) to its connection
    /// on another node, which answers whether it took it. A node alone holds every connection itself.
    /// </summary>
    ValueTask<SsePostAnswer> PostAsync(string connectionId, long seq, byte[] body, bool binary, bool close, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new SsePostAnswer(SsePostOutcome.Gone, 0));

    /// <summary>Closes a connection owned by another node; false when it is gone.</summary>
    ValueTask<bool> DisconnectAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>True when a session whose id this node minted resumed on another node: calls for it go there.</summary>
    bool HoldsElsewhere(string connectionId) => false;

    /// <summary>
    /// Asks <paramref name="fromNode"/>, which holds session <paramref name="connectionId"/>, to hand it over to this
    /// node, where its client resumed (see <see cref="ILocalSessions"/>). A node alone holds every session itself.
    /// </summary>
    ValueTask<SessionHandoverResult> TakeSessionAsync(string connectionId, string fromNode, uint generation, long? received, string? userId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new SessionHandoverResult(null, "node_gone"));

    /// <summary>Records that session <paramref name="connectionId"/>, minted elsewhere, lives on this node now.</summary>
    ValueTask SessionMovedHereAsync(string connectionId, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Describes a connection owned by another node, or null when it is gone.</summary>
    ValueTask<ConnectionSnapshot?> GetConnectionAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>Sets (or, with a null value, removes) attributes of a connection owned by another node; false when it is gone.</summary>
    ValueTask<bool> SetAttributesAsync(string connectionId, IReadOnlyDictionary<string, string?> changes, CancellationToken cancellationToken);

    /// <summary>Subscribes a connection owned by another node to a topic for the server; gone when it is not there.</summary>
    ValueTask<ServerTopicResult> SubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ServerTopicResult.Gone);

    /// <summary>Unsubscribes a connection owned by another node from a topic for the server; gone when it is not there.</summary>
    ValueTask<ServerTopicResult> UnsubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ServerTopicResult.Gone);

    /// <summary>Sends to every connection of every other node.</summary>
    ValueTask BroadcastAsync(OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>Sends to every connection of <paramref name="userId"/> on every other node.</summary>
    ValueTask SendToUserAsync(string userId, OutboundMessage message, CancellationToken cancellationToken);

    /// <summary>Sends to every connection of every other node but those in <paramref name="exclude"/>.</summary>
    ValueTask BroadcastAsync(OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken) =>
        exclude is { Count: 0 } ? BroadcastAsync(message, cancellationToken) : throw new NotSupportedException("this backplane cannot exclude connections");

    /// <summary>Sends to every connection of <paramref name="userId"/> on every other node but those in <paramref name="exclude"/>.</summary>
    ValueTask SendToUserAsync(string userId, OutboundMessage message, IReadOnlySet<string> exclude, CancellationToken cancellationToken) =>
        exclude is { Count: 0 } ? SendToUserAsync(userId, message, cancellationToken) : throw new NotSupportedException("this backplane cannot exclude connections");

    /// <summary>Publishes a topic event to the subscribers of every other node but those in <paramref name="exclude"/>.</summary>
    ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, IReadOnlySet<string> exclude, CancellationToken cancellationToken) =>
        exclude is { Count: 0 } ? PublishAsync(topic, type, data, cancellationToken) : throw new NotSupportedException("this backplane cannot exclude connections");

    /// <summary>
    /// Publishes a topic event a client published (its frames carry <paramref name="from"/>) to the subscribers of
    /// every other node. A backplane that cannot carry the origin throws <see cref="NotSupportedException"/>.
    /// </summary>
    ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, EventOrigin from, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this backplane cannot carry who published an event");

    /// <summary>
    /// Sets a key every node reads (a node alone: this process) for <paramref name="ttl"/>; with
    /// <paramref name="onlyIfAbsent"/> only when none is there. Returns whether it was set. Throws
    /// <see cref="BackplaneUnavailableException"/> while the engine cannot be reached.
    /// </summary>
    ValueTask<bool> SetKeyAsync(string key, ReadOnlyMemory<byte> value, TimeSpan ttl, bool onlyIfAbsent, CancellationToken cancellationToken);

    /// <summary>The value of a key every node reads, or null.</summary>
    ValueTask<byte[]?> GetKeyAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes a key every node reads.</summary>
    ValueTask DeleteKeyAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// True when broadcasts, user sends and topic publishes come back to this node through the backplane as well, to
    /// be delivered to its own connections there: every node then delivers them in the same order. False: deliver
    /// locally, then hand them to the backplane for the others.
    /// </summary>
    bool EchoesFanOut => false;

    /// <summary>True when topic history is kept by the backplane for every node (offsets assigned in one place).</summary>
    bool SharesHistory => false;

    /// <summary>
    /// True when a topic's offsets go 1, 2, 3 … within an epoch, so that a jump means events were missed; false when
    /// they are increasing with gaps, as a JetStream stream sequence shared by many topics is.
    /// </summary>
    bool ConsecutiveOffsets => true;

    /// <summary>
    /// Publishes an event of a topic with history: the backplane assigns its offset (in the topic's shared epoch),
    /// makes its frame, keeps it, and hands it to every node, this one included, in offset order.
    /// </summary>
    ValueTask PublishWithHistoryAsync(HistoryEvent historyEvent, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this backplane keeps no shared history");

    /// <summary>
    /// As <see cref="PublishWithHistoryAsync"/>, returning where the event was kept (null when the backplane cannot tell).
    /// </summary>
    async ValueTask<HistoryPosition?> PublishWithHistoryAtAsync(HistoryEvent historyEvent, CancellationToken cancellationToken)
    {
        await PublishWithHistoryAsync(historyEvent, cancellationToken);
        return null;
    }

    /// <summary>Reads a topic's shared history (making its epoch if it has none yet).</summary>
    ValueTask<SharedTopicHistory?> ReadHistoryAsync(string topic, TimeSpan ttl, CancellationToken cancellationToken) =>
        ValueTask.FromResult<SharedTopicHistory?>(null);

    /// <summary>Publishes a topic event (<paramref name="data"/> is one JSON value) to the subscribers of every other node.</summary>
    ValueTask PublishAsync(string topic, string type, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Hands this node's report to the other nodes' dashboards for <paramref name="lifetime"/>, after which a node that
    /// stopped reporting drops out (nothing to do when the node runs alone).
    /// </summary>
    ValueTask ReportAsync(NodeReport report, TimeSpan lifetime, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>The latest reports of the other live nodes (none when the node runs alone).</summary>
    ValueTask<IReadOnlyList<NodeReport>> OtherNodesAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<NodeReport>>([]);

    /// <summary>
    /// Asks every other live node <paramref name="query"/> and gathers the answers that come before
    /// <paramref name="deadline"/>, with the nodes that did not answer (none when the node runs alone).
    /// </summary>
    ValueTask<ClusterAnswers> QueryAllAsync(ClusterQuery query, TimeSpan deadline, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new ClusterAnswers([], true, []));

    /// <summary>The ids of <paramref name="userId"/>'s connections on the other nodes, and the nodes that did not answer.</summary>
    ValueTask<UserConnections> UserConnectionsAsync(string userId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new UserConnections([], []));
}

/// <summary>A user's connections on the other nodes.</summary>
/// <param name="ConnectionIds">Their ids.</param>
/// <param name="Unreachable">Nodes that were asked and did not answer.</param>
public sealed record UserConnections(IReadOnlyList<string> ConnectionIds, IReadOnlyList<string> Unreachable);
