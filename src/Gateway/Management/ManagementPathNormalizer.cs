using Gateway.Connections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Management;

/// <summary>
/// Collapses the empty segments of a management path before routing sees it. AWS SDKs given an endpoint with a
/// trailing slash send <c>//@connections/{id}</c> (or <c>/prod//@connections/{id}</c>), and ASP.NET Core routing
/// never matches an empty segment to a literal or a parameter, so the per-resource routes could not take such a path
/// as they are. Only a path that is a management path once collapsed is rewritten (the application's other paths,
/// however odd, are left alone); the stage prefix stays in the path, where the routes match it, so that the
/// application's own routes still rank first; and the request target (which a signature covers) is untouched. It runs
/// as a startup filter because a library's endpoints cannot put middleware ahead of the host's routing.
/// <para>
/// After the whole pipeline, when no endpoint took the request, a management path on the management listener that
/// names no resource (<c>/@nothing</c>, <c>/prod/@nothing/x</c>) gets the management API's own 404, before any
/// credentials are asked for. This is not a route: a route <c>/{resource}/{id}</c> would be a candidate of every
/// call on <c>/@connections/{id}</c> too, and routing takes each candidate's segments apart into strings before it
/// chooses one; a push would pay for it.
/// </para>
/// </summary>
internal sealed class ManagementPathNormalizer : IStartupFilter
{
    /// <inheritdoc />
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(static (context, nextMiddleware) =>
        {
            Normalize(context.Request);
            return nextMiddleware(context);
        });
        next(app);
        var listeners = app.ApplicationServices.GetRequiredService<GatewayListeners>();
        app.Use((context, nextMiddleware) => IsUnknownResource(context, listeners)
            ? UnknownResource.ExecuteAsync(context)
            : nextMiddleware(context));
    };

    /// <summary>The management API's 404 for a resource it does not have.</summary>
    internal static ManagementError UnknownResource { get; } = ManagementError.NotFound("No such management resource.");

    /// <summary>
    /// Whether a request that reached the end of the pipeline without an endpoint is a management path (one segment
    /// starting with <c>@</c>, after at most one stage segment, with at most an id after it) on the management listener.
    /// </summary>
    internal static bool IsUnknownResource(HttpContext context, GatewayListeners listeners) =>
        context.GetEndpoint() is null
        && !context.Response.HasStarted
        && ManagementRequest.TryParse(context.Request.Path.Value, out _)
        && listeners.Accepts(context, GatewayListenerKind.Management);

    /// <summary>Rewrites the path of <paramref name="request"/> without its empty segments when it is a management path.</summary>
    internal static void Normalize(HttpRequest request)
    {
        var path = request.Path.Value;
        if (path is not null && path.Contains("//", StringComparison.Ordinal) && ManagementRequest.TryParse(path, out _))
        {
            // The path is already decoded (an encoded "/" stays "%2F" in it), so the segments are joined as they are.
            request.Path = new PathString("/" + string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries)));
        }
    }
}
