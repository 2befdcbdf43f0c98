using System.Net;

namespace Gateway.Client.Management;

/// <summary>409 <c>ConflictException</c>: a call with the same idempotency key is still running.</summary>
public sealed class ConflictException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public ConflictException()
        : this("ConflictException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public ConflictException(string message)
        : base((HttpStatusCode)409, "ConflictException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ConflictException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public ConflictException(HttpStatusCode statusCode, string message)
        : base(statusCode, "ConflictException", message)
    {
    }
}
