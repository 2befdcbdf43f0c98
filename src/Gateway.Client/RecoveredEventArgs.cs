namespace Gateway.Client;

/// <summary>A subscription was made again on a new connection, from where it left off.</summary>
public sealed class RecoveredEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public RecoveredEventArgs(string channel, bool recovered, StreamPosition? since)
    {
        Channel = channel;
        Recovered = recovered;
        Since = since;
    }

    /// <summary>The subscription's topic.</summary>
    public string Channel { get; }

    /// <summary>True when every missed event follows; false when the history no longer reaches back (reload state).</summary>
    public bool Recovered { get; }

    /// <summary>The position the client asked to recover from, or null when it had none (a pattern, or no event yet).</summary>
    public StreamPosition? Since { get; }
}
