namespace Gateway.Client;

/// <summary>A command was sent on a connection that closed before it was answered, and the next connection is a new one (not resumed).</summary>
public sealed class GatewayConnectionLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GatewayConnectionLostException()
        : base("the connection closed before the command was answered")
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayConnectionLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayConnectionLostException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
