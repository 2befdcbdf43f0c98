using System.Net;

namespace Gateway.Client.Management;

/// <summary>413 <c>PayloadTooLargeException</c>: the body is over the gateway's limit.</summary>
public sealed class PayloadTooLargeException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public PayloadTooLargeException()
        : this("PayloadTooLargeException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public PayloadTooLargeException(string message)
        : base((HttpStatusCode)413, "PayloadTooLargeException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public PayloadTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public PayloadTooLargeException(HttpStatusCode statusCode, string message)
        : base(statusCode, "PayloadTooLargeException", message)
    {
    }
}
