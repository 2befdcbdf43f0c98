namespace Gateway.Backplane;

/// <summary>Where an event was kept in its topic's history: the history's epoch and the event's offset in it.</summary>
/// <param name="Epoch">The epoch of the topic's history.</param>
/// <param name="Offset">The event's offset in the epoch.</param>
public sealed record HistoryPosition(string Epoch, long Offset);
