using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gateway.Diagnostics;

/// <summary>
/// The gateway's metrics (meter <c>Gateway</c>), for OpenTelemetry or any <see cref="MeterListener"/>: connections,
/// messages and bytes by route, handshake rejections by reason, errors by kind (client, integration, execution, as
/// Amazon API Gateway names them), integration latency, slow-consumer closes, send-queue depth, the backplane, topics.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Gateway";

    private readonly Meter _meter;
    private readonly Counter<long> _opened;
    private readonly Counter<long> _closed;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _slowConsumers;
    private readonly Counter<long> _compressed;
    private readonly Counter<long> _compressedBytesIn;
    private readonly Counter<long> _compressedBytesOut;
    private readonly Histogram<double> _integration;
    private readonly Histogram<double> _backplane;
    private readonly Counter<long> _busIngested;
    private readonly Counter<long> _busDropped;
    private readonly Counter<long> _linkFrames;
    private readonly Counter<long> _incompleteQueries;
    private readonly Counter<long> _batchItems;
    private readonly Counter<long> _idempotentRepeats;
    private readonly Counter<long> _presenceChanges;
    private readonly Counter<long> _presenceUnannounced;
    private readonly Counter<long> _webhooks;
    private readonly Counter<long> _clientPublishes;
    private readonly UpDownCounter<long> _waitingSessions;
    private readonly UpDownCounter<long> _bufferedBytes;
    private readonly Counter<long> _resumes;
    private readonly Counter<long> _resumesRefused;
    private readonly StripedCounter _sentTotal = new();
    private readonly StripedCounter _sentBytes = new();
    private readonly ConcurrentDictionary<string, RouteCounts> _received = new(StringComparer.Ordinal);

    /// <summary>Creates the instruments; the observed ones read <paramref name="sources"/>.</summary>
    public GatewayMetrics(IMeterFactory meters, GaugeSources sources)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(sources);
        _meter = meters.Create(MeterName);
        _opened = _meter.CreateCounter<long>("gateway.connections.opened", "{connection}", "Connections upgraded, by the handshake's HTTP protocol.");
        _closed = _meter.CreateCounter<long>("gateway.connections.closed", "{connection}", "Connections closed, by close code.");
        _rejected = _meter.CreateCounter<long>("gateway.handshakes.rejected", "{handshake}", "Handshakes refused, by reason and status.");

        // The counters of every message are observed when metrics are collected rather than recorded per message: a
        // message adds to a striped count of its own, not through the meter's listeners (about a dozen calls each).
        _meter.CreateObservableCounter("gateway.messages.received", () => ByRoute(static c => c.Messages.Sum()), "{message}", "Client messages, by route.");
        _meter.CreateObservableCounter("gateway.messages.received.bytes", () => ByRoute(static c => c.Bytes.Sum()), "By", "Bytes of client messages, by route.");
        _meter.CreateObservableCounter("gateway.messages.sent", _sentTotal.Sum, "{message}", "Frames written to clients.");
        _meter.CreateObservableCounter("gateway.messages.sent.bytes", _sentBytes.Sum, "By", "Bytes written to clients.");
        _errors = _meter.CreateCounter<long>("gateway.errors", "{error}", "Errors by kind: client (no route, throttled), integration, execution.");
        _compressed = _meter.CreateCounter<long>("gateway.compression.messages", "{message}", "Messages compressed with permessage-deflate (a message many sockets receive is compressed once for all of them).");
        _compressedBytesIn = _meter.CreateCounter<long>("gateway.compression.bytes.in", "By", "Bytes of the messages compressed, before compression.");
        _compressedBytesOut = _meter.CreateCounter<long>("gateway.compression.bytes.out", "By", "Bytes of the messages compressed, after compression.");
        _slowConsumers = _meter.CreateCounter<long>("gateway.slow_consumer.closes", "{connection}", "Connections closed with 1013 for a full send queue.");
        _integration = _meter.CreateHistogram<double>("gateway.integration.duration", "ms", "Time for an http integration to answer, by route and outcome.");
        _backplane = _meter.CreateHistogram<double>("gateway.backplane.duration", "ms", "Time for another node to answer a directed call through the backplane, by operation and outcome.");
        _meter.CreateObservableUpDownCounter("gateway.connections.active", sources.ActiveConnections, "{connection}", "Open connections on this node.");
        _meter.CreateObservableGauge("gateway.send_queue.depth", sources.QueuedMessages, "{message}", "Messages waiting in all send queues.");
        _meter.CreateObservableUpDownCounter("gateway.topics.subscriptions", sources.Subscriptions, "{subscription}", "Topic subscriptions on this node.");
        _meter.CreateObservableUpDownCounter("gateway.topics.histories", sources.HistoryTopics, "{topic}", "Topics keeping history on this node.");
        _incompleteQueries = _meter.CreateCounter<long>("gateway.cluster.queries.incomplete", "{query}", "Cluster-wide questions (listings, user and topic lookups) answered without every node, by question.");
        _busIngested = _meter.CreateCounter<long>("gateway.bus.events.ingested", "{event}", "Events services published into the engine's event bus (and the gateway's own, on NATS) taken in for delivery, by engine.");
        _linkFrames = _meter.CreateCounter<long>("gateway.backplane.link.frames", "{frame}", "Frames of directed calls and answers carried by the direct link between nodes, by direction (sent, received).");
        _busDropped = _meter.CreateCounter<long>("gateway.bus.events.dropped", "{event}", "Events of the event bus refused, by engine and reason (topic, size, utf8, json, type, header).");
        _batchItems = _meter.CreateCounter<long>("gateway.management.batch.items", "{item}", "Items of POST /@batch, by the status of their result.");
        _idempotentRepeats = _meter.CreateCounter<long>("gateway.management.idempotent_repeats", "{call}", "Management calls answered with the first answer of their Idempotency-Key, delivering nothing again.");
        _presenceChanges = _meter.CreateCounter<long>("gateway.presence.changes", "{change}", "Presence joins and leaves this node delivered to its subscribers, by kind (join, leave).");
        _presenceUnannounced = _meter.CreateCounter<long>("gateway.presence.unannounced", "{subscription}", "Subscribes to topics with presence that did not make a member (the topic was at MaxMembers).");
        _webhooks = _meter.CreateCounter<long>("gateway.webhooks.deliveries", "{event}", "Webhook events, by event and outcome (delivered, retried, failed, dropped).");
        if (sources.PresenceMembers is { } members)
        {
            _meter.CreateObservableUpDownCounter("gateway.presence.members", members, "{member}", "Presence members held on this node, over every topic.");
        }

        _waitingSessions = _meter.CreateUpDownCounter<long>("gateway.sessions.waiting", "{session}", "Sessions whose socket dropped, waiting for their client to resume them.");
        _bufferedBytes = _meter.CreateUpDownCounter<long>("gateway.sessions.buffered.bytes", "By", "Bytes kept for waiting sessions: what was sent to them while they wait.");
        _resumes = _meter.CreateCounter<long>("gateway.sessions.resumes", "{resume}", "Sessions resumed, by kind (same_node, moved).");
        _resumesRefused = _meter.CreateCounter<long>("gateway.sessions.resumes_refused", "{resume}", "Resumes refused, by reason (invalid, expired, replayed, user, gone, lost, other_node, first_message, busy).");
        _clientPublishes = _meter.CreateCounter<long>("gateway.topics.client_publishes", "{publish}", "Publish commands of clients, by outcome (published, not_allowed, rate_limited, invalid, too_large, unavailable).");
        _meter.CreateObservableGauge("gateway.backplane.available", () => new Measurement<int>(sources.BackplaneAvailable() ? 1 : 0, new KeyValuePair<string, object?>("engine", sources.BackplaneEngine())), "1", "1 while other nodes can be reached (the engine, Redis or NATS, connected), by engine.");
    }

    /// <summary>A message of <paramref name="before"/> bytes was compressed to <paramref name="after"/>.</summary>
    public void Compressed(int before, int after)
    {
        _compressed.Add(1);
        _compressedBytesIn.Add(before);
        _compressedBytesOut.Add(after);
    }

    /// <summary>An item of a batch had a result of <paramref name="status"/>.</summary>
    public void BatchItem(int status) => _batchItems.Add(1, new KeyValuePair<string, object?>("status", status));

    /// <summary>A call was answered with the first answer of its idempotency key.</summary>
    public void IdempotentRepeat() => _idempotentRepeats.Add(1);

    /// <summary>A presence join or leave delivered to this node's subscribers.</summary>
    public void PresenceChange(bool joined) => _presenceChanges.Add(1, new KeyValuePair<string, object?>("kind", joined ? "join" : "leave"));

    /// <summary>A subscribe to a topic with presence that made no member (the topic was full).</summary>
    public void PresenceNotAnnounced() => _presenceUnannounced.Add(1);

    /// <summary>A webhook event's fate: delivered, retried (one failed attempt), failed (given up) or dropped (the queue was full).</summary>
    public void Webhook(string name, string outcome) =>
        _webhooks.Add(1, new KeyValuePair<string, object?>("event", name), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A session began (1) or stopped (-1) waiting for its client.</summary>
    public void SessionWaiting(int change) => _waitingSessions.Add(change);

    /// <summary>Bytes now kept for (positive) or no longer kept for (negative) waiting sessions.</summary>
    public void SessionBuffered(long bytes) => _bufferedBytes.Add(bytes);

    /// <summary>A session resumed, on the node it waited on (<c>same_node</c>) or on another (<c>moved</c>).</summary>
    public void SessionResumed(string kind) => _resumes.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>A resume refused, by reason.</summary>
    public void ResumeRefused(string reason) => _resumesRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A connection was upgraded, over <paramref name="protocol"/> (<c>HTTP/1.1</c> or <c>HTTP/2</c>).</summary>
    public void Opened(string protocol) => _opened.Add(1, new KeyValuePair<string, object?>("protocol", protocol));

    /// <summary>A connection closed with <paramref name="closeCode"/>.</summary>
    public void Closed(int closeCode) => _closed.Add(1, new KeyValuePair<string, object?>("close_code", closeCode));

    /// <summary>A handshake was refused.</summary>
    public void Rejected(string reason, int status) =>
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("status", status));

    /// <summary>A client message was routed to <paramref name="route"/>.</summary>
    public void Received(string route, int bytes)
    {
        // Routes are the configured ones (a message no route takes is refused before this), so the map stays small.
        var counts = _received.GetOrAdd(route, static _ => new RouteCounts());
        counts.Messages.Increment();
        counts.Bytes.Add(bytes);
    }

    /// <summary>Client messages routed since the start (for the dashboard's rates).</summary>
    public long ReceivedTotal => _received.Values.Sum(static c => c.Messages.Sum());

    /// <summary>Frames written to clients since the start (for the dashboard's rates).</summary>
    public long SentTotal => _sentTotal.Sum();

    /// <summary>A frame was written to a client.</summary>
    public void Sent(int bytes)
    {
        _sentTotal.Increment();
        _sentBytes.Add(bytes);
    }

    /// <summary>An error of <paramref name="kind"/>: <c>client</c>, <c>integration</c> or <c>execution</c>.</summary>
    public void Error(string kind) => _errors.Add(1, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>A slow consumer was closed.</summary>
    public void SlowConsumer() => _slowConsumers.Add(1);

    /// <summary>An integration call took <paramref name="elapsed"/>.</summary>
    public void Integration(string route, bool success, TimeSpan elapsed) =>
        _integration.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("outcome", success ? "success" : "failure"));

    /// <summary>A directed call to another node took <paramref name="elapsed"/>.</summary>
    public void Backplane(string operation, string outcome, TimeSpan elapsed) =>
        _backplane.Record(elapsed.TotalMilliseconds, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A client's publish command ended with <paramref name="outcome"/> (<c>published</c> or the reason it was refused).</summary>
    public void ClientPublish(string outcome) => _clientPublishes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A cluster-wide question was answered without every node (one did not answer in time).</summary>
    public void IncompleteQuery(string query) => _incompleteQueries.Add(1, new KeyValuePair<string, object?>("query", query));

    /// <summary>An event of the engine's event bus was taken in for delivery.</summary>
    public void BusEventIngested(string engine) => _busIngested.Add(1, new KeyValuePair<string, object?>("engine", engine));

    /// <summary>An event of the engine's event bus was refused for <paramref name="reason"/>.</summary>
    public void BusEventDropped(string engine, string reason) =>
        _busDropped.Add(1, new KeyValuePair<string, object?>("engine", engine), new KeyValuePair<string, object?>("reason", reason));

    /// <summary><paramref name="count"/> frames went on or came off the direct link between nodes (<paramref name="direction"/>: sent, received).</summary>
    public void LinkFrames(string direction, long count) => _linkFrames.Add(count, new KeyValuePair<string, object?>("direction", direction));

    /// <summary>Ticks for measuring an integration call.</summary>
    public static long Start() => Stopwatch.GetTimestamp();

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> ByRoute(Func<RouteCounts, long> read)
    {
        foreach (var (route, counts) in _received)
        {
            yield return new Measurement<long>(read(counts), new KeyValuePair<string, object?>("route", route));
        }
    }

    private sealed class RouteCounts
    {
        public StripedCounter Messages { get; } = new();

        public StripedCounter Bytes { get; } = new();
    }
}
