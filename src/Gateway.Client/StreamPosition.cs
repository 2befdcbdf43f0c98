namespace Gateway.Client;

/// <summary>Where a topic's history was read up to: the offset of the last event received and the history's epoch.</summary>
/// <param name="Offset">The offset of the last event received.</param>
/// <param name="Epoch">The history the offset belongs to.</param>
public sealed record StreamPosition(long Offset, string Epoch);
