namespace Gateway.Backplane;

/// <summary>What became of an event of the event bus: delivered (both null), refused, or to be numbered first.</summary>
/// <param name="Refused">Why it was refused (<c>topic</c>, <c>size</c>, <c>utf8</c>, <c>json</c>, <c>type</c>, <c>header</c>), or null.</param>
/// <param name="ToNumber">The event, when its topic keeps a shared history and it must be numbered before any node delivers it.</param>
public sealed record BusDelivery(string? Refused, HistoryEvent? ToNumber)
{
    /// <summary>Delivered live to this node's subscribers.</summary>
    public static BusDelivery Delivered { get; } = new(null, null);

    /// <summary>Refused for <paramref name="reason"/>.</summary>
    public static BusDelivery Refuse(string reason) => new(reason, null);
}
