using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// 200 with no body: the management API's answer to a push (<c>POST /@connections/{id}</c>) and to a <c>HEAD</c> that
/// finds what it asks about. ASP.NET Core's <c>Ok</c> result asks the request's services for a logger on every call,
/// which makes each request its own service scope; a push, the management API's hot path, needs neither.
/// </summary>
internal sealed class ManagementOk : IResult, IStatusCodeHttpResult
{
    private ManagementOk()
    {
    }

    /// <summary>The one instance: it holds nothing.</summary>
    public static ManagementOk Instance { get; } = new();

    /// <inheritdoc />
    public int? StatusCode => StatusCodes.Status200OK;

    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    }
}
