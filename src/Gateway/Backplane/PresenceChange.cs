namespace Gateway.Backplane;

/// <summary>A member joined or left a topic's presence, as this node's roster saw it.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Member">The member.</param>
/// <param name="NodeId">The node that holds (or held) the member.</param>
/// <param name="Joined">True for a join, false for a leave.</param>
/// <param name="Cause">What made the change.</param>
public sealed record PresenceChange(string Topic, PresenceMember Member, string NodeId, bool Joined, PresenceCause Cause);
