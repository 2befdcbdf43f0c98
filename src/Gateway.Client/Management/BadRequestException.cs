using System.Net;

namespace Gateway.Client.Management;

/// <summary>400 <c>BadRequestException</c>: the call was malformed (an id, a topic, a parameter or a body).</summary>
public sealed class BadRequestException : GatewayApiException
{
    /// <summary>Creates the exception.</summary>
    public BadRequestException()
        : this("BadRequestException")
    {
    }

    /// <summary>Creates the exception.</summary>
    public BadRequestException(string message)
        : base((HttpStatusCode)400, "BadRequestException", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public BadRequestException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an answer.</summary>
    public BadRequestException(HttpStatusCode statusCode, string message)
        : base(statusCode, "BadRequestException", message)
    {
    }
}
