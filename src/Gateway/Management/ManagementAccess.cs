using Gateway.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// Who may call the management API. With no credentials configured, anonymous calls are accepted from
/// loopback only (and the listener binds loopback by default); <c>AllowAnonymous</c> opens it to all.
/// </summary>
public sealed class ManagementAccess(IOptions<GatewayOptions> options)
{
    private readonly bool _allowAnonymous = options.Value.Management.AllowAnonymous;

    /// <summary>True when the call may go ahead; false answers 403 <c>ForbiddenException</c>.</summary>
    public bool Allows(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _allowAnonymous || context.Connection.RemoteIpAddress is { } address && System.Net.IPAddress.IsLoopback(address);
    }
}
