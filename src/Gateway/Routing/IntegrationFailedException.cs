namespace Gateway.Routing;

/// <summary>
/// A route's backend did not answer in time, refused the connection, or answered with a failure status: counted as an
/// integration error rather than an execution error, and answered with Amazon's "Internal server error" either way.
/// </summary>
public sealed class IntegrationFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IntegrationFailedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public IntegrationFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public IntegrationFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
