using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Gateway.Backplane;

namespace Gateway.Management;

/// <summary>
/// <c>POST /@broadcast</c>: the body to every connection, delivered as it is, as <c>POST /@connections/{id}</c> does.
/// Answers <c>{"delivered": n}</c>: how many connections of this node took it.
/// </summary>
internal static class BroadcastEndpoints
{
    private const string Resource = "@broadcast";

    // ASP0022 (route conflict) is kept on purpose: the endpoint without methods is this resource's own 405/404 (why: AnyMethodFallback).
    /// <summary>Maps the resource on a group at <c>/@broadcast</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapBroadcastEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPost("", BroadcastAsync);
        group.MapPost("/{id}", () => ManagementError.NotFound($"{Resource} takes no id."));
        group.Map("", NotAllowed);
        group.Map("/{id}", NotAllowed);
        return group;
    }

    private static ManagementError NotAllowed(HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, HttpMethods.Post);

    private static async Task<Results<ManagementJsonResult<DeliveredBody>, ManagementError>> BroadcastAsync(HttpContext context, IGatewayPublisher publisher)
    {
        if (ExcludeQuery.TryRead(context, out var exclude) is { } badExclude)
        {
            return badExclude;
        }

        var delivered = await publisher.BroadcastAsync(ManagementBody.Message(ManagementBody.Of(context)), exclude, context.RequestAborted);
        return new ManagementJsonResult<DeliveredBody>(new DeliveredBody(delivered), ManagementJson.Default.DeliveredBody);
    }
}
