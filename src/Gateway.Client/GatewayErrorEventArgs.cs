namespace Gateway.Client;

/// <summary>Something went wrong that the client handles by itself (a refused handshake, a failed refresh, a refused resume).</summary>
public sealed class GatewayErrorEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public GatewayErrorEventArgs(Exception exception)
    {
        Exception = exception;
    }

    /// <summary>What happened.</summary>
    public Exception Exception { get; }
}
