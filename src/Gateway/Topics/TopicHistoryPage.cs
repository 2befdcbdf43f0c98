namespace Gateway.Topics;

/// <summary>A read of a topic's history.</summary>
/// <param name="Epoch">The history's epoch.</param>
/// <param name="Offset">The last offset published.</param>
/// <param name="Recovered">Whether every event after the position asked for is here (null when none was asked for).</param>
/// <param name="Events">The event frames, oldest first.</param>
/// <param name="Complete">False when more events follow those given (the limit was reached): read again after the last.</param>
public sealed record TopicHistoryPage(string Epoch, long Offset, bool? Recovered, IReadOnlyList<byte[]> Events, bool Complete);
