using System.Collections.Concurrent;
using Gateway.Routing;

namespace Gateway.Tests.Infrastructure;

public sealed record RecordedEvent(RouteEventType Type, string RouteKey, string ConnectionId, string Body, int? StatusCode, string? Reason, string SourceIp);

/// <summary>A route handler that records every event it gets; tests wait for them.</summary>
public sealed class EventRecorder : IGatewayRouteHandler
{
    private readonly ConcurrentQueue<RecordedEvent> _all = new();

    public IReadOnlyCollection<RecordedEvent> All => _all;

    public ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        _all.Enqueue(new RecordedEvent(
            context.EventType,
            context.RouteKey,
            context.ConnectionId,
            context.IsBinary ? Convert.ToBase64String(context.Body.Span) : context.BodyText,
            context.DisconnectStatusCode,
            context.DisconnectReason,
            context.Connection.SourceIp));
        return ValueTask.FromResult(RouteResult.Ok);
    }

    /// <summary>Waits for the first recorded event, past or future, that matches.</summary>
    public async Task<RecordedEvent> WaitForAsync(Func<RecordedEvent, bool> match, TimeSpan? timeout = null)
    {
        RecordedEvent? found = null;
        await Wait.UntilAsync(() => (found = _all.FirstOrDefault(match)) is not null, "a matching route event was recorded", timeout);
        return found!;
    }

    public Task<RecordedEvent> DisconnectOf(string connectionId, TimeSpan? timeout = null) =>
        WaitForAsync(e => e.Type == RouteEventType.Disconnect && e.ConnectionId == connectionId, timeout);
}
