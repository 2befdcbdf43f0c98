using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Management;

/// <summary>
/// Lets the management catch-all route match only management paths (<c>[/stage]/@resource[/id]</c>), so that
/// in an application hosting the gateway, static files, fallbacks and its own routes are left alone.
/// </summary>
public sealed class ManagementPathConstraint : IRouteConstraint
{
    /// <summary>The name the route template uses: <c>{**path:gatewayManagement}</c>.</summary>
    public const string Name = "gatewayManagement";

    /// <inheritdoc />
    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.TryGetValue(routeKey, out var value) && ManagementRequest.TryParse("/" + Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), out _);
    }
}
