using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Topics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Gateway.Nats;

/// <summary>
/// Topic history on JetStream: one stream per <c>Gateway:Topics:History</c> pattern, named
/// <c>{prefix}_history_{hash of the pattern}</c>, whose subjects are the pattern itself, so that what anyone publishes
/// on a matching subject (a service with any NATS client, or the gateway) is kept and numbered alike. A topic keeps
/// its last <c>Size</c> events (<c>MaxMsgsPerSubject</c>) for <c>Ttl</c> each (<c>MaxAge</c>). A topic's offset is
/// the stream sequence: increasing per topic, with gaps where other topics of the stream took numbers. The epoch is
/// the stream's creation time, so a recreated stream starts a new epoch. Every node reads every stream with an ordered
/// consumer from the sequence it last saw, so no event is skipped across a reconnect.
/// </summary>
internal sealed partial class NatsHistoryStreams(INatsJSContext js, NatsOptions options, IReadOnlyList<TopicHistoryOptions> rules, ILogger logger)
{
    /// <summary>How long a history read waits before asking again when its consumer's replica lags behind the leader.</summary>
    private static readonly TimeSpan ReplicaWait = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// How a stream's reader consumes: a heartbeat every second, so that a consumer gone with its server is made again
    /// (from the event after the last one delivered) within two seconds, not the client's default of thirty.
    /// </summary>
    private static readonly NatsJSConsumeOpts Following = new() { MaxMsgs = 1000, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) };

    private readonly Stream[] _streams = [.. rules.Select(r => new Stream(r, StreamName(options.SubjectPrefix, r.Pattern)))];

    /// <summary>True when <paramref name="subject"/> belongs to a history stream (its events come from the stream, not the plain subscription).</summary>
    public bool Covers(string subject) => Find(subject) is not null;

    /// <summary>Makes (or updates) every stream; a stream that cannot be made is logged and tried again next time.</summary>
    public Task EnsureAsync(CancellationToken cancellationToken) => Task.WhenAll(_streams.Select(stream => EnsureAsync(stream, cancellationToken)));

    private async Task EnsureAsync(Stream stream, CancellationToken cancellationToken)
    {
        var config = new StreamConfig(stream.Name, [stream.Rule.Pattern])
        {
            Description = "Gateway topic history for " + stream.Rule.Pattern,
            MaxMsgsPerSubject = stream.Rule.Size,
            MaxAge = stream.Rule.Ttl,
            NumReplicas = options.JetStream.Replicas,
            Storage = StreamConfigStorage.File,
            Discard = StreamConfigDiscard.Old,
        };
        try
        {
            var made = await js.CreateOrUpdateStreamAsync(config, cancellationToken);
            stream.Epoch = Epoch(made.Info);
        }
        catch (NatsJSApiException ex)
        {
            // Most often another stream (of another version's patterns) holds overlapping subjects.
            Log.StreamRefused(logger, stream.Name, stream.Rule.Pattern, ex.Error.Description ?? ex.Message);
            throw;
        }
    }

    /// <summary>Reads every stream from now on, handing each event to <paramref name="receiver"/> in sequence order, until cancelled.</summary>
    public void Start(IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        foreach (var stream in _streams)
        {
            _ = FollowAsync(stream, receiver, cancellationToken);
        }
    }

    /// <summary>
    /// Publishes an event to its topic's stream (who published it, when a client did, in the origin header); the
    /// acknowledged sequence is its offset, in the epoch of the stream.
    /// </summary>
    public async Task<HistoryPosition> AppendAsync(HistoryEvent historyEvent, CancellationToken cancellationToken)
    {
        var headers = new NatsHeaders { [options.TypeHeader] = historyEvent.Type };
        if (historyEvent.From is { } from)
        {
            headers[NatsBackplaneTransport.FromHeader] = System.Text.Encoding.UTF8.GetString(from.ToJson());
        }

        var ack = await js.PublishAsync(historyEvent.Topic, historyEvent.Data, headers: headers, cancellationToken: cancellationToken);
        ack.EnsureSuccess();
        return new HistoryPosition(Find(historyEvent.Topic)?.Epoch ?? "", checked((long)ack.Seq));
    }

    /// <summary>The events of <paramref name="topic"/> its stream keeps, oldest first, with the stream's epoch.</summary>
    public async Task<SharedTopicHistory> ReadAsync(string topic, CancellationToken cancellationToken)
    {
        var stream = Find(topic) ?? throw new BackplaneUnavailableException($"No history stream covers '{topic}'.");
        var found = await js.GetStreamAsync(stream.Name, cancellationToken: cancellationToken);
        var epoch = Epoch(found.Info);
        stream.Epoch = epoch;

        // A consumer may sit on a replica that has not applied the newest events yet: the read goes on until it has
        // the newest one the stream's leader holds, so that no acknowledged event is left out.
        var newest = await NewestAsync(found, topic, cancellationToken);
        var events = new List<(long Offset, DateTimeOffset At, byte[] Frame)>();

        // A consumer of this topic's subject alone (filter_subject: nats-server 2.9 knows no filter_subjects), in memory,
        // removed when read (or by the server, once inactive, should this node stop first).
        var config = new ConsumerConfig
        {
            Name = "gwread_" + Guid.NewGuid().ToString("N"),
            FilterSubject = topic,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            AckPolicy = ConsumerConfigAckPolicy.None,
            MemStorage = true,
            NumReplicas = 1,
            InactiveThreshold = TimeSpan.FromSeconds(30),
        };
        var consumer = await js.CreateOrUpdateConsumerAsync(stream.Name, config, cancellationToken);
        long last = 0;
        try
        {
            var waits = 0;
            var more = true;
            while (more || last < newest)
            {
                if (!more)
                {
                    if (ReplicaWait * ++waits > options.RequestTimeout)
                    {
                        throw new BackplaneUnavailableException($"The history of '{topic}' could not be read up to its newest event.");
                    }

                    await Task.Delay(ReplicaWait, cancellationToken);
                }

                more = false;
                await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = Math.Max(1, stream.Rule.Size) }, cancellationToken: cancellationToken))
                {
                    // Kept to its topic even by a server that would hand out others.
                    if (msg.Metadata is not { } metadata || msg.Subject != topic)
                    {
                        continue;
                    }

                    var offset = checked((long)metadata.Sequence.Stream);
                    if (offset <= last)
                    {
                        continue;
                    }

                    last = offset;
                    more = metadata.NumPending > 0;
                    if (Frame(msg.Subject, msg.Headers, msg.Data, offset, out var frame) is null)
                    {
                        events.Add((offset, metadata.Timestamp, frame));
                    }
                }
            }
        }
        finally
        {
            await js.DeleteConsumerAsync(stream.Name, config.Name, CancellationToken.None);
        }

        return new SharedTopicHistory(epoch, last, events);
    }

    /// <summary>The sequence of the newest event of <paramref name="topic"/> as the stream's leader holds it; 0 when there is none.</summary>
    private static async Task<long> NewestAsync(INatsJSStream stream, string topic, CancellationToken cancellationToken)
    {
        try
        {
            var newest = await stream.GetAsync(new StreamMsgGetRequest { LastBySubj = topic }, cancellationToken);
            return checked((long)newest.Message.Seq);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return 0;
        }
    }

    /// <summary>The stream name of a pattern: stable across restarts and nodes, and a valid stream name whatever the pattern holds.</summary>
    public static string StreamName(string prefix, string pattern) =>
        NatsKeyValues.Bucket(prefix, "history_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(pattern)))[..16]);

    private Stream? Find(string topic)
    {
        foreach (var stream in _streams)
        {
            if (TopicName.Matches(stream.Rule.Pattern, topic))
            {
                return stream;
            }
        }

        return null;
    }

    private string? Frame(string subject, NatsHeaders? headers, byte[]? body, long offset, out byte[] frame)
    {
        frame = [];
        var reason = BusEventReader.TryRead(new BusEvent(subject, body ?? [], BusEventForm.Body, TypeOf(headers, options.TypeHeader)), out var type, out var data);
        if (reason is null)
        {
            frame = TopicFrames.Event(subject, type, data, NatsBackplaneTransport.OriginOf(headers), offset);
        }

        return reason;
    }

    /// <summary>The type header's value; empty (refused as an invalid header) when it is given more than once.</summary>
    public static string? TypeOf(NatsHeaders? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var values) ? values.Count == 1 ? values[0] ?? "" : "" : null;

    private async Task FollowAsync(Stream stream, IBackplaneReceiver receiver, CancellationToken cancellationToken)
    {
        ulong? last = null;
        var reread = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (reread)
                {
                    // Events from here on are this node's to deliver; after a failure it goes on from the event after
                    // the last one delivered, so none is skipped (from the start when the stream was made anew).
                    var info = (await js.GetStreamAsync(stream.Name, cancellationToken: cancellationToken)).Info;
                    var epoch = Epoch(info);
                    last = last is null ? info.State.LastSeq : epoch == stream.Epoch ? last : 0;
                    stream.Epoch = epoch;
                    reread = false;
                }

                var opts = new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence, OptStartSeq = last!.Value + 1 };
                var consumer = await js.CreateOrderedConsumerAsync(stream.Name, opts, cancellationToken);
                await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: Following, cancellationToken: cancellationToken))
                {
                    if (msg.Metadata is not { } metadata || metadata.Sequence.Stream <= last)
                    {
                        continue;
                    }

                    last = metadata.Sequence.Stream;
                    var offset = checked((long)metadata.Sequence.Stream);
                    if (Frame(msg.Subject, msg.Headers, msg.Data, offset, out var frame) is { } reason)
                    {
                        receiver.OnBusEventRefused(msg.Subject, reason);
                        continue;
                    }

                    receiver.OnSharedEvent(new SharedTopicEvent(msg.Subject, stream.Epoch, offset, metadata.Timestamp, frame));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The reader of a stream must outlive any failure of NATS; it starts again after a pause.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.FollowFailed(logger, stream.Name, ex.GetType().Name, ex.Message);
                reread = true;
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static string Epoch(StreamInfo info) => info.Created.UtcTicks.ToString("x", CultureInfo.InvariantCulture);

    private sealed class Stream(TopicHistoryOptions rule, string name)
    {
        public TopicHistoryOptions Rule { get; } = rule;

        public string Name { get; } = name;

        public string Epoch { get; set; } = "";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1609, Level = LogLevel.Error, Message = "JetStream refused the history stream {Stream} for pattern {Pattern}: {Reason}. If another stream holds overlapping subjects (for example one made for an earlier pattern), remove it (nats stream rm)")]
        public static partial void StreamRefused(ILogger logger, string stream, string pattern, string reason);

        [LoggerMessage(EventId = 1610, Level = LogLevel.Warning, Message = "Reading history stream {Stream} stopped ({Error}: {Reason}); reading again from the next event")]
        public static partial void FollowFailed(ILogger logger, string stream, string error, string reason);
    }
}
