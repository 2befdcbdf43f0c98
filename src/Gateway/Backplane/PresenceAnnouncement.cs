namespace Gateway.Backplane;

/// <summary>A change of this node's own members, numbered, to be told to the other nodes in that order.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Member">The member.</param>
/// <param name="Sequence">This node's number for the change: later changes have greater numbers.</param>
/// <param name="Joined">True for a join, false for a leave.</param>
public sealed record PresenceAnnouncement(string Topic, PresenceMember Member, long Sequence, bool Joined);
