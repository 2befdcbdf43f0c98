namespace Gateway.Client;

/// <summary>The gateway resumed the connection: same id, every subscription kept, <see cref="Missed"/> frames replayed next.</summary>
public sealed class ResumedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public ResumedEventArgs(string connectionId, int missed)
    {
        ConnectionId = connectionId;
        Missed = missed;
    }

    /// <summary>The connection's id (the same as before).</summary>
    public string ConnectionId { get; }

    /// <summary>How many buffered frames the gateway sends before live ones.</summary>
    public int Missed { get; }
}
