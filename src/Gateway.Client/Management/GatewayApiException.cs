using System.Net;

namespace Gateway.Client.Management;

/// <summary>An error answer of the management API: its status, its <c>x-amzn-ErrorType</c> and its <c>message</c>.</summary>
public class GatewayApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GatewayApiException()
        : this(0, "", "the management API refused the call")
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayApiException(string message)
        : this(0, "", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayApiException(string message, Exception? innerException)
        : base(message, innerException) => ErrorType = "";

    /// <summary>Creates the exception for an answer.</summary>
    public GatewayApiException(HttpStatusCode statusCode, string errorType, string message)
        : base(message)
    {
        StatusCode = statusCode;
        ErrorType = errorType;
    }

    /// <summary>The answer's status.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The answer's <c>x-amzn-ErrorType</c> (<c>GoneException</c>…), empty when it had none.</summary>
    public string ErrorType { get; }
}
