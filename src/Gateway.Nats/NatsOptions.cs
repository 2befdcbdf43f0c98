namespace Gateway.Nats;

/// <summary>The <c>Gateway:Nats</c> section: the NATS every node of one gateway shares, and the event bus on it.</summary>
public sealed class NatsOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Gateway:Nats";
}
