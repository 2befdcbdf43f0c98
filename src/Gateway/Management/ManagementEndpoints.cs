using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Gateway.Management;

/// <summary>
/// The management API, one group per resource, each at <c>/@resource</c> and under a stage prefix
/// (<c>/{stage}/@resource</c>, as Amazon's endpoint <c>https://{api}/{stage}</c> makes SDKs call it), behind the
/// management listener and the management credentials. A doubled <c>//</c> reaches these routes through
/// <see cref="ManagementPathNormalizer"/>, and <c>%40</c> because the server decodes the path before routing.
/// </summary>
internal static class ManagementEndpoints
{
    /// <summary>
    /// Why each resource maps an endpoint without methods beside its method-specific ones (analyzer rule ASP0022). A
    /// later route order on it (<c>WithOrder</c>) would satisfy the analyzer but is compared across every endpoint a
    /// path matches: <c>POST /@topics</c> would get routing's 405 instead of the resource's 404.
    /// </summary>
    internal const string AnyMethodFallback = "The endpoint without methods ranks after those with them (routing prefers endpoints with HTTP method metadata), so it takes only the methods they do not: the resource's own 405 and 404 answers instead of routing's bare 405.";

    /// <summary>Maps every management resource; the result takes conventions for all of them.</summary>
    public static RouteGroupBuilder MapManagementEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var management = endpoints.MapGroup("");
        management.AddSingletonFilter<RouteGroupBuilder, ManagementListenerFilter>();

        // After every route of the application but a fallback (which ranks last and would otherwise tie with these),
        // so that an application hosting the gateway keeps its own routes.
        management.WithOrder(int.MaxValue - 1);

        var stage = RoutePatternFactory.Parse("/{stage}", defaults: null, parameterPolicies: new RouteValueDictionary { ["stage"] = ManagementSegmentConstraint.Stage });
        foreach (var prefix in new[] { management.MapGroup(""), management.MapGroup(stage) })
        {
            prefix.MapGroup("/@connections").AddSingletonFilter<RouteGroupBuilder, ManagementAccessFilter>().AddSingletonFilter<RouteGroupBuilder, IdempotencyFilter>().MapConnectionEndpoints().MapConnectionTopicEndpoints();
            prefix.MapGroup("/@topics").AddSingletonFilter<RouteGroupBuilder, ManagementAccessFilter>().AddSingletonFilter<RouteGroupBuilder, IdempotencyFilter>().MapTopicEndpoints();
            prefix.MapGroup("/@users").AddSingletonFilter<RouteGroupBuilder, ManagementAccessFilter>().AddSingletonFilter<RouteGroupBuilder, IdempotencyFilter>().MapUserEndpoints().MapUserTopicEndpoints();
            prefix.MapGroup("/@broadcast").AddSingletonFilter<RouteGroupBuilder, ManagementAccessFilter>().AddSingletonFilter<RouteGroupBuilder, IdempotencyFilter>().MapBroadcastEndpoints();
            prefix.MapGroup("/@batch").AddSingletonFilter<RouteGroupBuilder, ManagementAccessFilter>().AddSingletonFilter<RouteGroupBuilder, IdempotencyFilter>().MapBatchEndpoints();

            // Any other @resource is the management API's own 404, answered at the end of the pipeline rather than by a
            // route here, which every call on a resource would have to consider (see ManagementPathNormalizer).
        }

        return management;
    }
}
