using System.Text;
using Gateway.Backplane;
using Gateway.Connections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Management;

/// <summary>
/// <c>@users/{userId}</c>, a user being a JWT subject: <c>POST</c> sends the body to every connection of the user,
/// delivered as it is, as <c>POST /@connections/{id}</c> does, and answers <c>{"delivered": n}</c>: how many connections
/// of this node took it. <c>GET</c> lists the user's connections on every node, <c>HEAD</c> tells whether there is one,
/// and <c>DELETE</c> closes them all.
/// </summary>
internal static class UserEndpoints
{
    /// <summary>Why a user id is refused.</summary>
    public const string InvalidUserId = "Invalid userId: it must be 1 to 1024 characters, without control characters.";

    private const string Resource = "@users";
    private const string Allowed = "GET, HEAD, POST, DELETE";
    private const int MaxUserIdLength = 1024;

    // The longest close reason a close frame carries (RFC 6455 §5.5: 125 bytes, less the code's 2).
    private const int MaxReasonBytes = 123;

    /// <summary>Maps the resource on a group at <c>/@users</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapUserEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPost("/{userId}", SendAsync);
        group.MapGet("/{userId}", GetAsync);
        group.MapMethods("/{userId}", [HttpMethods.Head], HeadAsync);
        group.MapDelete("/{userId}", DeleteAsync);
        group.MapPost("", () => ManagementError.NotFound($"{Resource} needs an id: {Resource}/{{id}}."));
        group.Map("", (HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, HttpMethods.Post));
        group.Map("/{userId}", (HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, Allowed));
        return group;
    }

    /// <summary>
    /// Maps the admin dashboard's user view on its group at <c>/admin/api/user</c>: <c>GET</c> and <c>DELETE</c> as on
    /// <c>/@users/{userId}</c>, the user id taken from the query (<c>?userId=</c>), which a browser encodes without
    /// ambiguity.
    /// </summary>
    public static IEndpointRouteBuilder MapDashboardUserEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapGet("", GetAsync);
        group.MapDelete("", DeleteAsync);
        return group;
    }

    /// <summary>Whether <paramref name="userId"/> can be a user id.</summary>
    public static bool IsValidUserId(string userId) =>
        userId.Length is > 0 and <= MaxUserIdLength && !userId.Any(char.IsControl);

    private static async Task<Results<ManagementJsonResult<DeliveredBody>, ManagementError>> SendAsync(string userId, HttpContext context, IGatewayPublisher publisher)
    {
        if (ExcludeQuery.TryRead(context, out var exclude) is { } badExclude)
        {
            return badExclude;
        }

        var delivered = await publisher.SendToUserAsync(userId, ManagementBody.Message(ManagementBody.Of(context)), exclude, context.RequestAborted);
        return new ManagementJsonResult<DeliveredBody>(new DeliveredBody(delivered), ManagementJson.Default.DeliveredBody);
    }

    private static async Task<IResult> GetAsync(string userId, HttpContext context, ManagementQueries queries, IBackplane backplane)
    {
        if (!IsValidUserId(userId))
        {
            return ManagementError.BadRequest(InvalidUserId);
        }

        var answers = await AskAsync(userId, PageRequest.MaxLimit, context, queries, backplane);
        var (count, items) = ConnectionEndpoints.ConnectionPage(answers, PageRequest.MaxLimit);
        var body = new UserBody(count, [.. items.Select(i => new UserConnectionItem(i.ConnectionId, i.Node, i.ConnectedAt))],
            answers.Complete, answers.Complete ? null : answers.MissingNodes);
        return new ManagementJsonResult<UserBody>(body, ManagementJson.Default.UserBody);
    }

    private static async Task<IResult> HeadAsync(string userId, HttpContext context, ManagementQueries queries, IBackplane backplane)
    {
        if (!IsValidUserId(userId))
        {
            return ManagementError.BadRequest(InvalidUserId);
        }

        var (count, _) = ConnectionEndpoints.ConnectionPage(await AskAsync(userId, 1, context, queries, backplane), 1);
        return count > 0 ? ManagementOk.Instance : ManagementError.NotFound($"User {userId} has no live connection.");
    }

    private static async Task<IResult> DeleteAsync(string userId, HttpContext context, ManagementQueries queries, IBackplane backplane)
    {
        if (!IsValidUserId(userId))
        {
            return ManagementError.BadRequest(InvalidUserId);
        }

        var query = context.Request.Query;
        var code = CloseCodes.Normal;
        if (query.ContainsKey("code")
            && (!int.TryParse(query["code"].ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out code)
                || code is not (CloseCodes.Normal or (>= 3000 and <= 4999))))
        {
            return ManagementError.BadRequest("Invalid code: a close code is 1000, or from 3000 to 4999.");
        }

        var reason = query["reason"].ToString();
        if (Encoding.UTF8.GetByteCount(reason) > MaxReasonBytes)
        {
            return ManagementError.BadRequest($"Invalid reason: a close reason is at most {MaxReasonBytes} bytes of UTF-8.");
        }

        var argument = ManagementQueries.Argument(json =>
        {
            json.WriteString("user", userId);
            json.WriteNumber("code", code);
            json.WriteString("reason", reason);
        });
        var answers = await queries.AskAsync(backplane, ManagementQueries.CloseUser, argument, context.RequestAborted);
        var closed = answers.Answers.Sum(a => ManagementQueries.ReadDecimal(a.Value));
        return new ManagementJsonResult<ClosedBody>(new ClosedBody(closed, answers.Complete, answers.Complete ? null : answers.MissingNodes), ManagementJson.Default.ClosedBody);
    }

    private static Task<ClusterAnswers> AskAsync(string userId, int limit, HttpContext context, ManagementQueries queries, IBackplane backplane)
    {
        var argument = ManagementQueries.Argument(json =>
        {
            json.WriteString("after", "");
            json.WriteNumber("limit", limit);
            json.WriteString("user", userId);
        });
        return queries.AskAsync(backplane, ManagementQueries.ConnectionPage, argument, context.RequestAborted);
    }
}
