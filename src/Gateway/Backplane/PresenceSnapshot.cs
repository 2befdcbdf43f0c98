namespace Gateway.Backplane;

/// <summary>A node's own members of every topic of one roster, as of <paramref name="Sequence"/>.</summary>
/// <param name="Sequence">The node's number for its latest change when the list was taken.</param>
/// <param name="Entries">Each member with its topic and the number of its join.</param>
public sealed record PresenceSnapshot(long Sequence, IReadOnlyList<(string Topic, PresenceMember Member, long Sequence)> Entries);
