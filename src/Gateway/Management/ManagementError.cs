using Gateway.Connections;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// An error answer of the management API in Amazon's shape (status, <c>x-amzn-ErrorType</c>, JSON <c>message</c>;
/// see <see cref="ManagementErrors"/>), as a result an endpoint returns.
/// </summary>
/// <param name="status">The HTTP status.</param>
/// <param name="errorType">The error's name, one of <see cref="ManagementErrors"/>' constants.</param>
/// <param name="message">What went wrong.</param>
/// <param name="allow">The methods the resource takes, sent as <c>Allow</c> with a 405.</param>
internal sealed class ManagementError(int status, string errorType, string message, string? allow = null) : IResult, IStatusCodeHttpResult
{
    /// <summary>The HTTP status.</summary>
    public int StatusCode => status;

    int? IStatusCodeHttpResult.StatusCode => status;

    /// <summary>The error's name, as <c>x-amzn-ErrorType</c> carries it.</summary>
    public string ErrorType => errorType;

    /// <summary>400: a connection id that cannot be one.</summary>
    public static ManagementError BadId(string id) =>
        new(StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, "Invalid connectionId: " + id);

    /// <summary>400 for another reason.</summary>
    public static ManagementError BadRequest(string message) => new(StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, message);

    /// <summary>403: missing or bad credentials (why is logged, never told).</summary>
    public static ManagementError Forbidden() => new(StatusCodes.Status403Forbidden, ManagementErrors.Forbidden, "Forbidden");

    /// <summary>404: no such resource.</summary>
    public static ManagementError NotFound(string message) => new(StatusCodes.Status404NotFound, ManagementErrors.NotFound, message);

    /// <summary>405 with the methods <paramref name="allow"/>ed on <paramref name="target"/>.</summary>
    public static ManagementError MethodNotAllowed(string method, string target, string allow) =>
        new(StatusCodes.Status405MethodNotAllowed, ManagementErrors.MethodNotAllowed, $"{method} is not supported on {target}.", allow);

    /// <summary>413: the body is over <paramref name="limit"/> bytes.</summary>
    public static ManagementError PayloadTooLarge(int limit) =>
        new(StatusCodes.Status413PayloadTooLarge, ManagementErrors.PayloadTooLarge, $"Request body exceeds the maximum of {limit} bytes.");

    /// <summary>409: a call with the same <c>Idempotency-Key</c> is still in progress.</summary>
    public static ManagementError Conflict(string message) => new(StatusCodes.Status409Conflict, ManagementErrors.Conflict, message);

    /// <summary>The error's message.</summary>
    public string Message => message;

    /// <summary>503: other nodes cannot be reached.</summary>
    public static ManagementError Unavailable(string message) => new(StatusCodes.Status503ServiceUnavailable, ManagementErrors.ServiceUnavailable, message);

    /// <summary>The answer for a call on connection <paramref name="id"/> that did not go through.</summary>
    public static ManagementError Of(string id, SendResult result) => result switch
    {
        SendResult.QueueFull => new(StatusCodes.Status429TooManyRequests, ManagementErrors.LimitExceeded,
            $"The send queue of connection {id} is full; the connection is being closed as a slow consumer."),
        SendResult.BadId => BadId(id),
        SendResult.Unavailable => Unavailable($"The node holding connection {id} cannot be reached right now."),
        _ => new(StatusCodes.Status410Gone, ManagementErrors.Gone, $"Connection {id} is gone."),
    };

    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (allow is not null)
        {
            httpContext.Response.Headers.Allow = allow;
        }

        return ManagementErrors.WriteAsync(httpContext, status, errorType, message);
    }
}
