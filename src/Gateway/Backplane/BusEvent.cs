namespace Gateway.Backplane;

/// <summary>An event a service published into the engine's event bus, as the transport received it: not yet validated.</summary>
/// <param name="Topic">The topic it was published for (the subject on NATS, the channel's tail on Redis).</param>
/// <param name="Body">The message's bytes.</param>
/// <param name="Form">How the body carries the event's type and data.</param>
/// <param name="TypeHeader">The value of the header that names the event's type (NATS), or null when there is none.</param>
/// <param name="Exclude">Connections that must not receive it: read only from a gateway's own publish (NATS), else null.</param>
/// <param name="From">Who published it, from the origin header (NATS): a client's publish that a gateway put on the bus; else null.</param>
public sealed record BusEvent(string Topic, byte[] Body, BusEventForm Form, string? TypeHeader = null, IReadOnlySet<string>? Exclude = null, EventOrigin? From = null);
