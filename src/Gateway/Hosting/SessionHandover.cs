using Gateway.Backplane;
using Gateway.Connections;
using Gateway.Routing;
using Gateway.Topics;
using Microsoft.Extensions.Logging;

namespace Gateway.Hosting;

/// <summary>
/// Hands this node's resumable sessions over to the node their client resumed on: claims the session (taking it over
/// from a socket not seen to drop yet), checks the frames the client missed are kept, unsubscribes it here with the
/// position each topic with history had reached, and gives up its frames, attributes and slot. No <c>$disconnect</c>
/// runs: the session goes on there.
/// </summary>
public sealed partial class SessionHandover(ConnectionRegistry registry, TopicHub topics, ILogger<SessionHandover> logger) : ILocalSessions
{
    /// <inheritdoc />
    public async ValueTask<SessionHandoverResult> HandOverAsync(string connectionId, uint generation, long? received, string? userId, string toNode, Action markMoved, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(markMoved);
        if (!registry.TryGet(connectionId, out var connection) || !connection.IsResumable)
        {
            return Refused("gone");
        }

        if (connection.UserId != userId)
        {
            return Refused("user");
        }

        if (await connection.ClaimResumeAsync(generation, received, cancellationToken) is { } refused)
        {
            return Refused(refused);
        }

        // From here no topic event is queued to it, calls for it are sent on, and then nothing is queued to it at all.
        var subscriptions = topics.HandOver(connection);
        markMoved();
        if (connection.HandOver(received) is not { } handed)
        {
            connection.ReleaseResume();
            return Refused("gone");
        }

        topics.RemoveAll(connection);
        registry.Remove(connection);
        registry.ReleaseSlot();
        var answer = connection.FeatureOrNull<ConnectAnswer>();
        Log.HandedOver(logger, connectionId, toNode, handed.Frames.Count);
        var state = new SessionState(handed.Written, connection.ConnectedAt.UtcTicks, connection.AttributesSnapshot(), answer?.ConnectedMembers, answer?.PresenceInfo, subscriptions, handed.Frames)
        {
            SsePostsApplied = connection.FeatureOrNull<SseSession>()?.Applied ?? 0,
        };
        return new SessionHandoverResult(state.ToBytes(), "");
    }

    private static SessionHandoverResult Refused(string reason) => new(null, reason);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1143, Level = LogLevel.Information, Message = "Connection {ConnectionId} resumed on node {NodeId}; its session and {Frames} frames went there")]
        public static partial void HandedOver(ILogger logger, string connectionId, string nodeId, int frames);
    }
}
