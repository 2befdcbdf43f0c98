using Gateway.Backplane;
using Gateway.Connections;

namespace Gateway.Topics;

/// <summary>
/// Subscribes and unsubscribes this node's connections for the server (the management API, here or on another node).
/// The client's topic authorization does not apply (the backend decides); the subscription limit does.
/// </summary>
public sealed class LocalServerSubscriptions(ConnectionRegistry registry, TopicHub hub, TopicHistoryReader histories) : ILocalTopicSubscriptions
{
    /// <inheritdoc />
    public ValueTask<ServerTopicResult> SubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken) =>
        Find(connectionId) is { } connection ? SubscribeAsync(connection, topic, cancellationToken) : ValueTask.FromResult(ServerTopicResult.Gone);

    /// <summary>Subscribes <paramref name="connection"/> to <paramref name="topic"/> and tells the client, unless it holds that subscription already.</summary>
    public async ValueTask<ServerTopicResult> SubscribeAsync(GatewayConnection connection, string topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(topic);
        if (connection.Features.Get<ConnectionSubscriptions>()?.Contains(topic) == true)
        {
            return ServerTopicResult.Done;
        }

        if (!await histories.EnsureLoadedAsync(topic, cancellationToken))
        {
            return ServerTopicResult.Unavailable;
        }

        if (hub.Subscribe(connection, topic, null, ServerTopicFrames.Subscribed(topic)))
        {
            return ServerTopicResult.Done;
        }

        // Refused: either the connection closed meanwhile, or it is at its limit.
        return connection.IsOpen ? ServerTopicResult.LimitExceeded : ServerTopicResult.Gone;
    }

    /// <summary>
    /// Subscribes a session that resumed here from another node to <paramref name="pattern"/>, as it was there: from
    /// <paramref name="position"/> for a topic with history, so that no event is lost or doubled. The client is told
    /// nothing, unless events of that topic could not be recovered: then it gets the <c>subscribed</c> frame with
    /// <c>"recovered": false</c>, as after a recovering subscribe.
    /// </summary>
    public async ValueTask RestoreAsync(GatewayConnection connection, string pattern, TopicPosition? position, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(pattern);
        await histories.EnsureLoadedAsync(pattern, cancellationToken);
        var since = position is null ? null : new RecoveryPosition(position.Offset, position.Epoch);
        hub.Subscribe(connection, pattern, since, now => now is { Recovered: false } ? Lost(pattern, now) : []);
    }

    private static byte[] Lost(string pattern, TopicPosition position) => Protocol.ClientFrames.Typed("subscribed", default, w =>
    {
        w.WriteString("channel", pattern);
        w.WriteString("epoch", position.Epoch);
        w.WriteNumber("offset", position.Offset);
        w.WriteBoolean("recovered", false);
        w.WriteString("by", "server");
    });

    /// <inheritdoc />
    public ServerTopicResult Unsubscribe(string connectionId, string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (Find(connectionId) is not { } connection)
        {
            return ServerTopicResult.Gone;
        }

        if (hub.Unsubscribe(connection, topic))
        {
            connection.TrySendText(ServerTopicFrames.Unsubscribed(topic));
        }

        return ServerTopicResult.Done;
    }

    // A connection still waiting for its credentials has not connected yet: it is not there for the server.
    private GatewayConnection? Find(string connectionId) =>
        registry.TryGet(connectionId, out var connection) && connection.IsOpen && !connection.AwaitingCredentials ? connection : null;
}
