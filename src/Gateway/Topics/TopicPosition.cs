
namespace Gateway.Topics;

/// <summary>Where a topic with history stands when a client subscribes.</summary>
/// <param name="Epoch">The history's epoch.</param>
/// <param name="Offset">The last offset published.</param>
/// <param name="Recovered">Whether the position the client asked to recover from could be (null when it asked for none).</param>
public sealed record TopicPosition(string Epoch, long Offset, bool? Recovered);
