using Gateway.Backplane;
using Gateway.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// Access to the dashboard, as a filter on its group: the management credentials, which a browser sends as HTTP Basic
/// (an access key id and its secret, or an API key as the password; scripts may use any form the management API
/// takes), and for a change (anything but <c>GET</c> and <c>HEAD</c>) the header <c>X-Gateway-Admin: 1</c> from the
/// dashboard's own origin, which another site's page cannot send without a CORS preflight that is never granted, so a
/// browser holding the credentials cannot be made to act.
/// </summary>
/// <param name="options">The gateway's options (the payload limit).</param>
/// <param name="access">Who may call.</param>
/// <param name="logger">Where refusals are logged.</param>
internal sealed partial class DashboardAccessFilter(IOptions<GatewayOptions> options, ManagementAccess access, ILogger<DashboardAccessFilter> logger) : IEndpointFilter
{
    /// <summary>The header a change must carry.</summary>
    public const string ChangeHeader = "X-Gateway-Admin";

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var response = http.Response;
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        var max = options.Value.Management.MaxPayloadBytes;
        var body = await ManagementBody.ReadAsync(http.Request, max, http.RequestAborted);
        if (body is null)
        {
            return DashboardJsonResult.Error(StatusCodes.Status413PayloadTooLarge, $"The body exceeds {max} bytes.");
        }

        if (access.Refusal(http, body, allowBasic: true) is { } refusal)
        {
            // A browser's first request carries no credentials by design (the answer makes it ask for them): that is
            // not worth a warning; wrong credentials are.
            var from = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            if (refusal == ManagementAccess.CredentialsRequired)
            {
                Log.Challenged(logger, from);
            }
            else
            {
                Log.Refused(logger, from, refusal);
            }

            if (!access.RequiresCredentials)
            {
                return DashboardJsonResult.Error(StatusCodes.Status403Forbidden, "Until management credentials are configured, the dashboard is served to this machine only.");
            }

            // The browser asks for the credentials and sends them with every request after.
            response.Headers.WWWAuthenticate = "Basic realm=\"Gateway admin\", charset=\"UTF-8\"";
            return DashboardJsonResult.Error(StatusCodes.Status401Unauthorized, "The management credentials are required.");
        }

        if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
        {
            var origin = http.Request.Headers.Origin.ToString();
            if (http.Request.Headers[ChangeHeader] != "1" || (origin.Length > 0 && !SameOrigin(origin, http.Request)))
            {
                return DashboardJsonResult.Error(StatusCodes.Status403Forbidden, $"A change needs the header {ChangeHeader}: 1, from the dashboard's own origin.");
            }
        }

        http.Features.Set(new ManagementBody(body));
        try
        {
            return await next(context);
        }
        catch (BackplaneUnavailableException ex)
        {
            return DashboardJsonResult.Error(StatusCodes.Status503ServiceUnavailable, "Other nodes cannot be reached right now: " + ex.Message);
        }
    }

    private static bool SameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1461, Level = LogLevel.Warning, Message = "Dashboard request from {RemoteAddress} refused: {Reason}")]
        public static partial void Refused(ILogger logger, string remoteAddress, string reason);

        [LoggerMessage(EventId = 1463, Level = LogLevel.Debug, Message = "Dashboard request from {RemoteAddress} without credentials; asked for them")]
        public static partial void Challenged(ILogger logger, string remoteAddress);
    }
}
