using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Gateway.Backplane;

namespace Gateway.Management;

/// <summary>
/// <c>POST /@users/{userId}</c>: the body to every connection of a user (a JWT subject), delivered as it is, as
/// <c>POST /@connections/{id}</c> does. Answers <c>{"delivered": n}</c>: how many connections of this node took it.
/// </summary>
internal static class UserEndpoints
{
    private const string Resource = "@users";

    /// <summary>Maps the resource on a group at <c>/@users</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapUserEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPost("/{userId}", SendAsync);
        group.MapPost("", () => ManagementError.NotFound($"{Resource} needs an id: {Resource}/{{id}}."));
        group.Map("", NotAllowed);
        group.Map("/{userId}", NotAllowed);
        return group;
    }

    private static ManagementError NotAllowed(HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, HttpMethods.Post);

    private static async Task<Results<ManagementJsonResult<DeliveredBody>, ManagementError>> SendAsync(string userId, HttpContext context, IGatewayPublisher publisher)
    {
        if (ExcludeQuery.TryRead(context, out var exclude) is { } badExclude)
        {
            return badExclude;
        }

        var delivered = await publisher.SendToUserAsync(userId, ManagementBody.Message(ManagementBody.Of(context)), exclude, context.RequestAborted);
        return new ManagementJsonResult<DeliveredBody>(new DeliveredBody(delivered), ManagementJson.Default.DeliveredBody);
    }
}
