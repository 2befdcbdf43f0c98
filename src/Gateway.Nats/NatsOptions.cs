namespace Gateway.Nats;

/// <summary>The <c>Gateway:Nats</c> section: the NATS every node of one gateway shares, and the event bus on it.</summary>
public sealed class NatsOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Gateway:Nats";

    /// <summary>The subjects ingested as topics when <see cref="EventSubjects"/> is not set.</summary>
    public static readonly IReadOnlyList<string> DefaultEventSubjects = ["events.>"];

    /// <summary>One NATS URL or a comma-separated list of a cluster's servers (<c>nats://nats-1:4222,nats://nats-2:4222</c>); unset, NATS is not used.</summary>
    public string? Url { get; set; }

    /// <summary>The path of a <c>.creds</c> file (a user JWT and its NKey seed), as the <c>nats</c> tools take it.</summary>
    public string? Credentials { get; set; }

    /// <summary>A token the server requires (<c>authorization { token: … }</c>).</summary>
    public string? Token { get; set; }

    /// <summary>An NKey seed (<c>SU…</c>): the client signs the server's nonce with it.</summary>
    public string? NKeySeed { get; set; }

    /// <summary>A user name the server requires, with <see cref="Password"/>.</summary>
    public string? Username { get; set; }

    /// <summary>The password of <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>TLS to the servers.</summary>
    public NatsTlsOptions Tls { get; set; } = new();

    /// <summary>The first token of the gateway's own subjects (node channels, the all-nodes channel) and of its key-value buckets and streams, so several gateways can share one NATS.</summary>
    public string SubjectPrefix { get; set; } = "gw";

    /// <summary>
    /// The subjects ingested as topics (NATS wildcards): a message published on one of them reaches every WebSocket
    /// client whose subscription matches its subject, which is its topic name. Unset: <c>["events.&gt;"]</c>.
    /// </summary>
    public string[]? EventSubjects { get; set; }

    /// <summary>The header that names an event's type (else the <c>type</c> field of a JSON object body).</summary>
    public string TypeHeader { get; set; } = "Gateway-Type";

    /// <summary>
    /// Whether gateway-side publishes (the management API, <c>IGatewayPublisher</c>, streams to topics) of a topic within
    /// <see cref="EventSubjects"/> go onto the bus, where services subscribed on NATS see them too. Topics with history
    /// are always on the bus: their stream keeps them under their own subject.
    /// </summary>
    public bool PublishToBus { get; set; } = true;

    /// <summary>JetStream: topic history streams and the key-value buckets of liveness and shared keys.</summary>
    public NatsJetStreamOptions JetStream { get; set; } = new();

    /// <summary>How often a node renews its liveness record.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a liveness record lives: a node silent this long is taken as gone (its connections answer 410).</summary>
    public TimeSpan NodeTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a node waits for another node's answer to a directed operation before answering 503.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The subjects ingested: <see cref="EventSubjects"/>, or the default when unset.</summary>
    public IReadOnlyList<string> IngestedSubjects => EventSubjects is { Length: > 0 } subjects ? subjects : DefaultEventSubjects;
}
