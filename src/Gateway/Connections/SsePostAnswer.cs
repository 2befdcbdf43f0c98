namespace Gateway.Connections;

/// <summary>The answer to a post: its outcome and, when out of order, the sequence number expected next.</summary>
/// <param name="Outcome">What became of it.</param>
/// <param name="ExpectedSeq">The next sequence number the connection takes (0 when not known).</param>
public readonly record struct SsePostAnswer(SsePostOutcome Outcome, long ExpectedSeq);
