namespace Gateway.Configuration;

/// <summary>What happens to a binary frame from a client.</summary>
public enum BinaryFrameHandling
{
    /// <summary>Route it to <c>$default</c>, body base64 in integration events.</summary>
    Route,

    /// <summary>Close the connection with 1003, as Amazon API Gateway does.</summary>
    Reject,
}
