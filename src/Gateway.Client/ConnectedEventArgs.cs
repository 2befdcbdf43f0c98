namespace Gateway.Client;

/// <summary>A connection was established: a new one (<see cref="Resumed"/> false) or the same one resumed.</summary>
public sealed class ConnectedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public ConnectedEventArgs(string? connectionId, bool resumed, string? frame)
    {
        ConnectionId = connectionId;
        Resumed = resumed;
        Frame = frame;
    }

    /// <summary>The connection's id (null when the gateway sends no connected frame).</summary>
    public string? ConnectionId { get; }

    /// <summary>True when the gateway resumed the previous connection.</summary>
    public bool Resumed { get; }

    /// <summary>The first frame: <c>connected</c> or <c>resumed</c>, with what <c>$connect</c> added.</summary>
    public string? Frame { get; }
}
