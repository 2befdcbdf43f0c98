namespace Gateway.Backplane;

/// <summary>A topic's history as the backplane keeps it for every node: its epoch, last offset, and the events kept.</summary>
/// <param name="Epoch">The epoch of the history.</param>
/// <param name="LastOffset">The last offset assigned.</param>
/// <param name="Events">The events kept, oldest first: offset, when it was published, and its frame.</param>
public sealed record SharedTopicHistory(string Epoch, long LastOffset, IReadOnlyList<(long Offset, DateTimeOffset At, byte[] Frame)> Events);
