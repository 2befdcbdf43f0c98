using System.Text.Json;
using Gateway.Backplane;
using Gateway.Connections;
using Microsoft.Extensions.Logging;

namespace Gateway.Topics;

/// <summary>
/// Subscribes connections to topics for the server, on any node: one connection by id (directed through the backplane
/// to the node holding it), or every connection of a user on every node. A user's subscription can also be remembered
/// for a while in the cluster-wide record <c>usersubs:{userId}</c> (topic → expiry), so that the connections the user
/// opens meanwhile, on any node, are subscribed as they connect.
/// </summary>
public sealed partial class ServerSubscriptions(
    ConnectionRegistry registry,
    LocalServerSubscriptions local,
    IBackplane backplane,
    ConnectionSender sender,
    TimeProvider time,
    ILogger<ServerSubscriptions> logger)
{
    /// <summary>The longest a user's subscription is remembered for the connections the user opens later.</summary>
    public static readonly TimeSpan MaxRemembered = TimeSpan.FromHours(24);

    /// <summary>The shared key that holds what is remembered for <paramref name="userId"/>.</summary>
    public static string RecordKey(string userId) => "usersubs:" + userId;

    /// <summary>Subscribes connection <paramref name="connectionId"/> (on any node) to <paramref name="topic"/>, a valid topic or pattern.</summary>
    public ValueTask<ServerTopicResult> SubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (!ConnectionId.IsWellFormed(connectionId))
        {
            return ValueTask.FromResult(ServerTopicResult.Gone);
        }

        return sender.IsLocal(connectionId) ? local.SubscribeAsync(connectionId, topic, cancellationToken) : backplane.SubscribeAsync(connectionId, topic, cancellationToken);
    }

    /// <summary>Unsubscribes connection <paramref name="connectionId"/> (on any node) from <paramref name="topic"/>.</summary>
    public ValueTask<ServerTopicResult> UnsubscribeAsync(string connectionId, string topic, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (!ConnectionId.IsWellFormed(connectionId))
        {
            return ValueTask.FromResult(ServerTopicResult.Gone);
        }

        return sender.IsLocal(connectionId) ? ValueTask.FromResult(local.Unsubscribe(connectionId, topic)) : backplane.UnsubscribeAsync(connectionId, topic, cancellationToken);
    }

    /// <summary>
    /// Subscribes every connection of <paramref name="userId"/>, on every node, to <paramref name="topic"/>; with
    /// <paramref name="remember"/>, the connections the user opens within that time too. Returns how many connections
    /// hold the subscription (those at their subscription limit, or on a node that did not answer, do not).
    /// </summary>
    public async Task<int> SubscribeUserAsync(string userId, string topic, TimeSpan? remember, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (remember is { } duration)
        {
            // Recorded first: a connection that opens while the others are subscribed reads it.
            await ChangeRecordAsync(userId, topics => topics[topic] = time.GetUtcNow().Add(duration).ToUnixTimeMilliseconds(), cancellationToken);
        }

        return await ForEachConnectionAsync(userId, id => SubscribeAsync(id, topic, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Unsubscribes every connection of <paramref name="userId"/>, on every node, from <paramref name="topic"/>; with
    /// <paramref name="forget"/>, removes it from what is remembered for the user's later connections. Returns how many
    /// of the user's connections were reached (and hold no such subscription now).
    /// </summary>
    public async Task<int> UnsubscribeUserAsync(string userId, string topic, bool forget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (forget)
        {
            await ChangeRecordAsync(userId, topics => topics.Remove(topic), cancellationToken);
        }

        return await ForEachConnectionAsync(userId, id => UnsubscribeAsync(id, topic, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Subscribes a connection that just connected (its <c>$connect</c> accepted, its connected frame queued) to what is
    /// remembered for its user. Never throws: a record that cannot be read is logged, and the connection goes on.
    /// </summary>
    public async Task ApplyRememberedAsync(GatewayConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.UserId is not { Length: > 0 } userId)
        {
            return;
        }

        try
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var (topic, expires) in Parse(await backplane.GetKeyAsync(RecordKey(userId), cancellationToken)))
            {
                if (expires > now && await local.SubscribeAsync(connection, topic, cancellationToken) is not ServerTopicResult.Done and var result)
                {
                    Log.RememberedNotApplied(logger, connection.Id, topic, result.ToString());
                }
            }
        }
#pragma warning disable CA1031 // The connection is open and goes on without what was remembered; why is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RememberedUnreadable(logger, ex, connection.Id, userId);
        }
    }

    private async Task<int> ForEachConnectionAsync(string userId, Func<string, ValueTask<ServerTopicResult>> call, CancellationToken cancellationToken)
    {
        var ids = registry.OfUser(userId).Where(c => c.IsOpen && !c.AwaitingCredentials).Select(c => c.Id).ToList();
        var remote = await backplane.UserConnectionsAsync(userId, cancellationToken);
        ids.AddRange(remote.ConnectionIds);
        var results = await Task.WhenAll(ids.Distinct(StringComparer.Ordinal).Select(id => call(id).AsTask()));
        return results.Count(r => r == ServerTopicResult.Done);
    }

    /// <summary>Reads the user's record, drops what expired, changes it, and writes it back with the TTL of its latest expiry (or deletes it when empty).</summary>
    private async Task ChangeRecordAsync(string userId, Action<Dictionary<string, long>> change, CancellationToken cancellationToken)
    {
        var key = RecordKey(userId);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var topics = Parse(await backplane.GetKeyAsync(key, cancellationToken)).Where(t => t.Value > now).ToDictionary(StringComparer.Ordinal);
        change(topics);
        if (topics.Count == 0)
        {
            await backplane.DeleteKeyAsync(key, cancellationToken);
            return;
        }

        await backplane.SetKeyAsync(key, Write(topics), TimeSpan.FromMilliseconds(topics.Values.Max() - now), onlyIfAbsent: false, cancellationToken);
    }

    private static Dictionary<string, long> Parse(byte[]? record)
    {
        var topics = new Dictionary<string, long>(StringComparer.Ordinal);
        if (record is null)
        {
            return topics;
        }

        using var document = JsonDocument.Parse(record);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.Value.TryGetInt64(out var expires))
            {
                topics[property.Name] = expires;
            }
        }

        return topics;
    }

    private static byte[] Write(Dictionary<string, long> topics)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (topic, expires) in topics)
            {
                writer.WriteNumber(topic, expires);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1710, Level = LogLevel.Warning, Message = "Connection {ConnectionId} was not subscribed to {Topic}, remembered for its user ({Result})")]
        public static partial void RememberedNotApplied(ILogger logger, string connectionId, string topic, string result);

        [LoggerMessage(EventId = 1711, Level = LogLevel.Warning, Message = "The subscriptions remembered for user {UserId} could not be applied to connection {ConnectionId}")]
        public static partial void RememberedUnreadable(ILogger logger, Exception exception, string connectionId, string userId);
    }
}
