namespace Gateway.Client;

/// <summary>A message was sent while disconnected and the outgoing queue already held <see cref="GatewayClientOptions.OutgoingQueueLimit"/> messages.</summary>
public sealed class OutgoingQueueFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OutgoingQueueFullException()
        : base("the client is disconnected and its outgoing queue is full")
    {
    }

    /// <summary>Creates the exception.</summary>
    public OutgoingQueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public OutgoingQueueFullException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
