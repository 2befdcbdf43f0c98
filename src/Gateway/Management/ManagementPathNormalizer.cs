using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// Collapses the empty segments of a management path before routing sees it. AWS SDKs given an endpoint with a
/// trailing slash send <c>//@connections/{id}</c> (or <c>/prod//@connections/{id}</c>), and ASP.NET Core routing
/// never matches an empty segment to a literal or a parameter, so the per-resource routes could not take such a path
/// as they are. Only a path that is a management path once collapsed is rewritten (the application's other paths,
/// however odd, are left alone); the stage prefix stays in the path, where the routes match it, so that the
/// application's own routes still rank first; and the request target (which a signature covers) is untouched. It runs
/// as a startup filter because a library's endpoints cannot put middleware ahead of the host's routing.
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
    };

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
