namespace Gateway.Nats;

/// <summary>The <c>Gateway:Nats:JetStream</c> section.</summary>
public sealed class NatsJetStreamOptions
{
    /// <summary>
    /// Replicas of the history streams and key-value buckets the gateway makes (1 to 5; at most the cluster's size).
    /// With 1, a stream lives on one server, and is unavailable while that server is down; 3 survives one server lost.
    /// </summary>
    public int Replicas { get; set; } = 1;
}
