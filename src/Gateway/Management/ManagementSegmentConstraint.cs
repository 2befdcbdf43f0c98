using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Management;

/// <summary>
/// One segment of a management path: a resource starts with <c>@</c> (<c>@connections</c>); a stage, the one
/// segment that may come before it (Amazon's <c>/{stage}/@connections/{id}</c>), is any segment that does not.
/// </summary>
/// <param name="resource">True to match a resource, false a stage.</param>
internal sealed class ManagementSegmentConstraint(bool resource) : IRouteConstraint
{
    /// <summary>A stage: any segment but a resource.</summary>
    public static readonly ManagementSegmentConstraint Stage = new(resource: false);

    /// <summary>A resource: a segment starting with <c>@</c>.</summary>
    public static readonly ManagementSegmentConstraint Resource = new(resource: true);

    /// <inheritdoc />
    public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.TryGetValue(routeKey, out var value) && value is string segment && segment.StartsWith('@') == resource;
    }
}
