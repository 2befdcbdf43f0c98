namespace Gateway.Client;

/// <summary>The connection closed or broke; the client reconnects unless it is being disposed.</summary>
public sealed class DisconnectedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public DisconnectedEventArgs(int? closeStatus, string? closeDescription, Exception? exception, bool willReconnect)
    {
        CloseStatus = closeStatus;
        CloseDescription = closeDescription;
        Exception = exception;
        WillReconnect = willReconnect;
    }

    /// <summary>The close code the gateway sent, or null when the socket broke without one.</summary>
    public int? CloseStatus { get; }

    /// <summary>The close reason, when one was given.</summary>
    public string? CloseDescription { get; }

    /// <summary>What broke the socket, when it broke.</summary>
    public Exception? Exception { get; }

    /// <summary>False once the client is disposed.</summary>
    public bool WillReconnect { get; }
}
