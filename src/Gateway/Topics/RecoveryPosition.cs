namespace Gateway.Topics;

/// <summary>Where a reconnecting client left off in a topic: the last offset it saw and the epoch of that history.</summary>
/// <param name="Offset">The last offset the client received.</param>
/// <param name="Epoch">The epoch the offset belongs to.</param>
public sealed record RecoveryPosition(long Offset, string Epoch);
