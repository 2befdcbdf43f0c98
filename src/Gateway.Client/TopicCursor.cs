namespace Gateway.Client;

/// <summary>Where one topic's events were received up to: the offset of the last one and its history's epoch.</summary>
internal sealed class TopicCursor
{
    public long? Offset { get; set; }

    public string? Epoch { get; set; }
}
