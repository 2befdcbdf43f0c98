using System.Net;

namespace Gateway.Client.Management;

/// <summary>404 <c>NotFoundException</c>: the resource does not exist (a topic without history).</summary>
public sealed class NotFoundException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public NotFoundException()
        : this("NotFoundException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public NotFoundException(string message)
        : base((HttpStatusCode)404, "NotFoundException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public NotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public NotFoundException(HttpStatusCode statusCode, string message)
        : base(statusCode, "NotFoundException", message)
    {
    }
}
