using System.Net;

namespace Gateway.Client.Management;

/// <summary>410 <c>GoneException</c>: the connection is gone (unknown or closed id).</summary>
public sealed class GoneException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public GoneException()
        : this("GoneException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public GoneException(string message)
        : base((HttpStatusCode)410, "GoneException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GoneException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public GoneException(HttpStatusCode statusCode, string message)
        : base(statusCode, "GoneException", message)
    {
    }
}
