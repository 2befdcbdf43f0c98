namespace Gateway.Hosting;

/// <summary>What reading the first request head of a connection came to.</summary>
internal enum HeadOutcome
{
    Handshake,
    PassOn,
    TimedOut,
    Close,
}
