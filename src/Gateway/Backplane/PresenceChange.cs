namespace Gateway.Backplane;

/// <summary>A member joined or left a topic's presence on another node.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Member">The member (a user or connection id).</param>
/// <param name="NodeId">The node it joined or left on.</param>
/// <param name="Joined">True for a join, false for a leave.</param>
public sealed record PresenceChange(string Topic, string Member, string NodeId, bool Joined);
