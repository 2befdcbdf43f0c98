namespace Gateway.Backplane;

/// <summary>How a <see cref="BusEvent"/>'s body carries the event.</summary>
public enum BusEventForm
{
    /// <summary><c>{"type": "…", "data": …}</c>, as services publish into Redis.</summary>
    Envelope,

    /// <summary>
    /// The body is the data (any JSON value, else text, else bytes), and the type comes from a header or from the
    /// <c>type</c> field of a JSON object body, as services publish on NATS.
    /// </summary>
    Body,
}
