namespace Gateway.Backplane;

/// <summary>A topic's history as the backplane keeps it for every node: its epoch, last offset, and the events kept.</summary>
/// <param name="Epoch">The epoch of the history.</param>
/// <param name="LastOffset">The last offset assigned.</param>
/// <param name="Events">The events kept, oldest first: offset, when it was published, and its frame.</param>
/// <param name="Complete">
/// True when no event of the epoch was dropped before the first one kept, so <paramref name="Events"/> holds every
/// event since the epoch began; false when some may have been, or it is not known. With offsets that have gaps, a
/// client that saw an offset below the first kept recovers only from a complete history.
/// </param>
public sealed record SharedTopicHistory(string Epoch, long LastOffset, IReadOnlyList<(long Offset, DateTimeOffset At, byte[] Frame)> Events, bool Complete = false);
