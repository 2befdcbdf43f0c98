namespace Gateway.Configuration;

/// <summary>Topics clients may publish to directly with the <c>publish</c> command, and how often.</summary>
public sealed class ClientPublishOptions
{
    /// <summary>The topics (a pattern: <c>*</c> one segment, <c>&gt;</c> the rest) clients may publish to, when they may subscribe to them.</summary>
    public string Pattern { get; set; } = "";

    /// <summary>Publishes per second one connection may make to the topics of this entry (a token bucket whose burst is the rate).</summary>
    public double RatePerSecond { get; set; } = 10;
}
