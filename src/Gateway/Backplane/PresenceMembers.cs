namespace Gateway.Backplane;

/// <summary>The members of a topic's presence across the cluster.</summary>
/// <param name="Members">The members, each once.</param>
/// <param name="Complete">True when every live node answered.</param>
/// <param name="MissingNodes">The live nodes that did not answer in time.</param>
public sealed record PresenceMembers(IReadOnlyList<string> Members, bool Complete, IReadOnlyList<string> MissingNodes);
