using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// Error answers as Amazon API Gateway's management API gives them: the status, the header
/// <c>x-amzn-ErrorType</c> naming the error (AWS SDKs pick the exception class from it), and a JSON message.
/// </summary>
public static class ManagementErrors
{
    /// <summary>410: the connection is unknown or closed.</summary>
    public const string Gone = "GoneException";

    /// <summary>400: the request is malformed (a connection id that cannot be one).</summary>
    public const string BadRequest = "BadRequestException";

    /// <summary>413: the body is over the payload limit.</summary>
    public const string PayloadTooLarge = "PayloadTooLargeException";

    /// <summary>429: throttled, or the client's send queue is full.</summary>
    public const string LimitExceeded = "LimitExceededException";

    /// <summary>403: missing or bad credentials.</summary>
    public const string Forbidden = "ForbiddenException";

    /// <summary>404: no such management resource.</summary>
    public const string NotFound = "NotFoundException";

    /// <summary>405: the method does not apply to the resource.</summary>
    public const string MethodNotAllowed = "MethodNotAllowedException";

    /// <summary>409: a call with the same <c>Idempotency-Key</c> is still in progress.</summary>
    public const string Conflict = "ConflictException";

    /// <summary>503: the node holding the connection cannot be reached right now.</summary>
    public const string ServiceUnavailable = "ServiceUnavailableException";

    /// <summary>Writes an error answer.</summary>
    public static Task WriteAsync(HttpContext context, int status, string errorType, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        context.Response.Headers["x-amzn-ErrorType"] = errorType;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new ErrorBody(message), ManagementJson.Default.ErrorBody));
    }
}
