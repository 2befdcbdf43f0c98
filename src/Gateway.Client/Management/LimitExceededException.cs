using System.Net;

namespace Gateway.Client.Management;

/// <summary>429 <c>LimitExceededException</c>: a limit was reached (the client's send queue, a subscription limit, throttling).</summary>
public sealed class LimitExceededException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public LimitExceededException()
        : this("LimitExceededException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public LimitExceededException(string message)
        : base((HttpStatusCode)429, "LimitExceededException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LimitExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public LimitExceededException(HttpStatusCode statusCode, string message)
        : base(statusCode, "LimitExceededException", message)
    {
    }
}
