namespace Gateway.Diagnostics;

/// <summary>
/// What the observed instruments read, handed to <see cref="GatewayMetrics"/> by the part that composes the gateway,
/// so that diagnostics report the parts above them without reaching up to them.
/// </summary>
/// <param name="ActiveConnections">Open connections on this node.</param>
/// <param name="QueuedMessages">Messages waiting in all send queues.</param>
/// <param name="Subscriptions">Topic subscriptions on this node.</param>
/// <param name="HistoryTopics">Topics keeping history on this node.</param>
/// <param name="BackplaneAvailable">Whether other nodes can be reached.</param>
/// <param name="BackplaneEngine">The engine that joins the nodes (<c>none</c>, <c>redis</c>, <c>nats</c>).</param>
/// <param name="PresenceMembers">Presence members this node holds, over every topic (none when not given).</param>
public sealed record GaugeSources(
    Func<long> ActiveConnections,
    Func<long> QueuedMessages,
    Func<long> Subscriptions,
    Func<long> HistoryTopics,
    Func<bool> BackplaneAvailable,
    Func<string> BackplaneEngine,
    Func<long>? PresenceMembers = null);
