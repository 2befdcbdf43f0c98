using Gateway.Backplane;
using Gateway.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// Management access, as a filter on the management API's resource groups: the body is read within its limit (413)
/// before the credentials are checked, because a signature covers it; then <see cref="ManagementAccess"/> decides
/// (403). A call that finds other nodes unreachable answers 503.
/// </summary>
/// <param name="options">The gateway's options (the payload limit).</param>
/// <param name="access">Who may call.</param>
/// <param name="logger">Where refusals are logged.</param>
internal sealed partial class ManagementAccessFilter(IOptions<GatewayOptions> options, ManagementAccess access, ILogger<ManagementAccessFilter> logger) : IEndpointFilter
{
    // PATCH sets attributes: a small JSON object, not a message, so it gets a limit of its own.
    private const int MaxAttributesBytes = 16 * 1024;

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var limit = HttpMethods.IsPatch(http.Request.Method) ? MaxAttributesBytes
            : ManagementRequest.Names(http.Request.Path.Value, BatchEndpoints.Resource) ? options.Value.Management.MaxBatchBytes
            : options.Value.Management.MaxPayloadBytes;
        var body = await ManagementBody.ReadAsync(http.Request, limit, http.RequestAborted);
        if (body is null)
        {
            return ManagementError.PayloadTooLarge(limit);
        }

        if (access.Refusal(http, body) is { } refusal)
        {
            Log.Forbidden(logger, http.Connection.RemoteIpAddress?.ToString() ?? "unknown", refusal);
            return ManagementError.Forbidden();
        }

        http.Features.Set(new ManagementBody(body));
        try
        {
            return await next(context);
        }
        catch (BackplaneUnavailableException ex)
        {
            var resource = ManagementRequest.TryParse(http.Request.Path.Value, out var request) ? request.Resource : http.Request.Path.Value ?? "";
            Log.BackplaneUnavailable(logger, resource, ex.Message);
            return ManagementError.Unavailable("Other nodes cannot be reached right now. A broadcast, user send or publish reached this node's own connections, except a publish to a topic with history, which waits for the engine to number it and was not delivered. " + ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Management call from {RemoteAddress} refused: {Reason}")]
        public static partial void Forbidden(ILogger logger, string remoteAddress, string reason);

        [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Management call on {Resource} could not reach other nodes: {Detail}")]
        public static partial void BackplaneUnavailable(ILogger logger, string resource, string detail);
    }
}
