namespace Gateway.Configuration;

/// <summary>History kept for the topics a pattern matches.</summary>
public sealed class TopicHistoryOptions
{
    /// <summary>The topics (a pattern) this applies to. No topic may match two entries: patterns that overlap are refused at start-up.</summary>
    public string Pattern { get; set; } = "";

    /// <summary>Events kept per topic.</summary>
    public int Size { get; set; } = 100;

    /// <summary>How long an event is kept.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromMinutes(10);
}
