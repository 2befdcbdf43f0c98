using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Management;

/// <summary>
/// The stage of a management path: the one segment that may come before the resource (Amazon's
/// <c>/{stage}/@connections/{id}</c>), any segment that does not itself name a resource (start with <c>@</c>).
/// </summary>
internal sealed class ManagementSegmentConstraint : IRouteConstraint
{
    private ManagementSegmentConstraint()
    {
    }

    /// <summary>A stage: any segment but a resource.</summary>
    public static readonly ManagementSegmentConstraint Stage = new();

    /// <inheritdoc />
    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.TryGetValue(routeKey, out var value) && value is string segment && !segment.StartsWith('@');
    }
}
