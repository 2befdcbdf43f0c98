namespace Gateway.Configuration;

/// <summary>Presence for the topics a pattern matches.</summary>
public sealed class PresenceRuleOptions
{
    /// <summary>The topics (a pattern) whose subscribers are members.</summary>
    public string Pattern { get; set; } = "";

    /// <summary>Members announced per topic; past it a subscribe still works but the subscriber is not a member.</summary>
    public int MaxMembers { get; set; } = 1000;
}
