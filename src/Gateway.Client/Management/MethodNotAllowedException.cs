using System.Net;

namespace Gateway.Client.Management;

/// <summary>405 <c>MethodNotAllowedException</c>: the method is not allowed on the resource.</summary>
public sealed class MethodNotAllowedException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public MethodNotAllowedException()
        : this("MethodNotAllowedException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public MethodNotAllowedException(string message)
        : base((HttpStatusCode)405, "MethodNotAllowedException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MethodNotAllowedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public MethodNotAllowedException(HttpStatusCode statusCode, string message)
        : base(statusCode, "MethodNotAllowedException", message)
    {
    }
}
