namespace Gateway.Backplane;

/// <summary>Other nodes could not be reached (Redis is down or unreachable); what was local has been done.</summary>
public sealed class BackplaneUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BackplaneUnavailableException()
        : base("The other nodes cannot be reached right now.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public BackplaneUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public BackplaneUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
