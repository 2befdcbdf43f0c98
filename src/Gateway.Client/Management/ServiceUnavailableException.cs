using System.Net;

namespace Gateway.Client.Management;

/// <summary>503 <c>ServiceUnavailableException</c>: the gateway could not reach what the call needs (another node, the backplane).</summary>
public sealed class ServiceUnavailableException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public ServiceUnavailableException()
        : this("ServiceUnavailableException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public ServiceUnavailableException(string message)
        : base((HttpStatusCode)503, "ServiceUnavailableException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ServiceUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public ServiceUnavailableException(HttpStatusCode statusCode, string message)
        : base(statusCode, "ServiceUnavailableException", message)
    {
    }
}
