using System.Net;

namespace Gateway.Client.Management;

/// <summary>403 <c>ForbiddenException</c>: the credentials are missing or wrong.</summary>
public sealed class ForbiddenException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public ForbiddenException()
        : this("ForbiddenException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public ForbiddenException(string message)
        : base((HttpStatusCode)403, "ForbiddenException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ForbiddenException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public ForbiddenException(HttpStatusCode statusCode, string message)
        : base(statusCode, "ForbiddenException", message)
    {
    }
}
