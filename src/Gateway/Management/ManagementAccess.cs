using Gateway.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// Who may call the management API. With no credentials configured, anonymous calls are accepted only
/// from the local machine itself (and the listener binds loopback by default); <c>AllowAnonymous</c> opens
/// it to all. A request that a proxy forwarded is never taken as local, whatever address the proxy has:
/// behind a reverse proxy on the same host every outside caller would otherwise look like loopback.
/// </summary>
public sealed class ManagementAccess(IOptions<GatewayOptions> options)
{
    private readonly bool _allowAnonymous = options.Value.Management.AllowAnonymous;

    /// <summary>True when the call may go ahead; false answers 403 <c>ForbiddenException</c>.</summary>
    public bool Allows(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_allowAnonymous)
        {
            return true;
        }

        var headers = context.Request.Headers;
        var forwarded = headers.ContainsKey("X-Forwarded-For") || headers.ContainsKey("Forwarded") || headers.ContainsKey("X-Real-IP");
        return !forwarded && context.Connection.RemoteIpAddress is { } address && System.Net.IPAddress.IsLoopback(address);
    }
}
