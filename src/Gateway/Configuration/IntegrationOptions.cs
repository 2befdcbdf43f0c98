namespace Gateway.Configuration;

/// <summary>An integration behind a route.</summary>
public sealed class IntegrationOptions
{
    /// <summary>The integration type: <c>mock</c>.</summary>
    public string Type { get; set; } = "";

    /// <summary>For <c>mock</c>: the response sent back (nothing when empty).</summary>
    public string? Response { get; set; }

    /// <summary>For <c>mock</c> on <c>$connect</c>: the status that answers the handshake.</summary>
    public int StatusCode { get; set; } = 200;
}
