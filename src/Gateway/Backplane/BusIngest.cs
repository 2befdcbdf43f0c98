using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Gateway.Backplane;

/// <summary>
/// Takes in what services publish into the engine's event bus: delivers it through the topics part, counts it, logs a
/// refused event at most once a minute per reason, and, when a topic keeps a history the store does not number by
/// itself (Redis), has it numbered by the one node that holds the numbering lease, so every node delivers it once,
/// numbered, like a gateway-side publish. The lease is a shared key with the node's liveness TTL, renewed with each
/// heartbeat: when its holder dies, another node takes it within one TTL (events of topics with history published
/// meanwhile are not numbered, and so not delivered: the event bus is at-most-once).
/// </summary>
internal sealed partial class BusIngest(IBackplaneTransport transport, ILocalTopicDelivery topics, string nodeId, TimeProvider time, ILogger logger, Diagnostics.GatewayMetrics? metrics)
{
    /// <summary>The shared key that names the node which numbers the event bus's events of topics with history.</summary>
    public const string LeaseKey = "bus-numbering";

    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);
    private readonly byte[] _self = Encoding.UTF8.GetBytes(nodeId);
    private readonly ConcurrentDictionary<string, long> _lastLogged = new(StringComparer.Ordinal);
    private int _holdsLease;

    /// <summary>True while this node holds the numbering lease.</summary>
    public bool HoldsLease => Volatile.Read(ref _holdsLease) == 1;

    /// <summary>Delivers, or has numbered, or refuses an event of the event bus.</summary>
    public void OnBusEvent(BusEvent busEvent)
    {
        var delivery = topics.DeliverBusEvent(busEvent);
        if (delivery.Refused is { } reason)
        {
            Refused(busEvent.Topic, reason);
            return;
        }

        if (delivery.ToNumber is { } toNumber)
        {
            if (transport.NumbersBusEvents || !HoldsLease)
            {
                // The store numbers it, or the lease holder does: it comes back as a shared event.
                return;
            }

            _ = NumberAsync(toNumber);
        }

        Ingested();
    }

    /// <summary>Counts an event of the event bus taken in.</summary>
    public void Ingested() => metrics?.BusEventIngested(transport.Engine);

    /// <summary>Counts a refused event, and logs it unless one refused for the same reason was logged within the minute.</summary>
    public void Refused(string topic, string reason)
    {
        metrics?.BusEventDropped(transport.Engine, reason);
        var now = time.GetTimestamp();
        var last = _lastLogged.GetOrAdd(reason, 0);
        if ((last == 0 || time.GetElapsedTime(last, now) >= LogEvery) && _lastLogged.TryUpdate(reason, now, last))
        {
            Log.EventRefused(logger, Truncate(topic), reason);
        }
    }

    /// <summary>Takes or renews the numbering lease for <paramref name="ttl"/> (nothing to do when the store numbers events itself).</summary>
    public async Task RenewLeaseAsync(TimeSpan ttl)
    {
        if (transport.NumbersBusEvents)
        {
            return;
        }

        var holder = await transport.GetKeyAsync(LeaseKey);
        var holds = holder is null
            ? await transport.SetKeyAsync(LeaseKey, _self, ttl, onlyIfAbsent: true)
            : holder.AsSpan().SequenceEqual(_self) && await transport.SetKeyAsync(LeaseKey, _self, ttl, onlyIfAbsent: false);
        Volatile.Write(ref _holdsLease, holds ? 1 : 0);
    }

    /// <summary>Gives the lease up (the node leaves), so that another node takes it with its next heartbeat.</summary>
    public async Task ReleaseLeaseAsync()
    {
        if (Interlocked.Exchange(ref _holdsLease, 0) == 1 && await transport.GetKeyAsync(LeaseKey) is { } holder && holder.AsSpan().SequenceEqual(_self))
        {
            await transport.DeleteKeyAsync(LeaseKey);
        }
    }

    private async Task NumberAsync(HistoryEvent toNumber)
    {
        try
        {
            await transport.AppendHistoryAsync(toNumber);
        }
        catch (BackplaneUnavailableException ex)
        {
            Log.NumberingFailed(logger, Truncate(toNumber.Topic), ex.Message);
        }
    }

    // A topic from the bus is not validated when it is logged: keep it short.
    private static string Truncate(string topic) => topic.Length <= 200 ? topic : topic[..200] + "…";

    private static partial class Log
    {
        [LoggerMessage(EventId = 1607, Level = LogLevel.Warning, Message = "An event published to the event bus for topic {Topic} was dropped ({Reason}); further events dropped for this reason are counted in gateway.bus.events.dropped and logged at most once a minute")]
        public static partial void EventRefused(ILogger logger, string topic, string reason);

        [LoggerMessage(EventId = 1608, Level = LogLevel.Warning, Message = "An event published to the event bus for topic {Topic} could not be numbered in its history ({Reason}); it is not delivered")]
        public static partial void NumberingFailed(ILogger logger, string topic, string reason);
    }
}
