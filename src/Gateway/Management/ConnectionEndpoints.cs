using System.Globalization;
using System.Text.Json;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// <c>@connections</c>: push to a connection (<c>POST</c>), describe it (<c>GET</c>), close it (<c>DELETE</c>),
/// wire-compatible with Amazon API Gateway's management API; and, beyond it, set its attributes (<c>PATCH</c>) and
/// list the connections of every node a page at a time (<c>GET /@connections</c>; <c>?scope=node</c>: this node's
/// only, with their identity) and tell whether one is live (<c>HEAD</c>).
/// </summary>
internal static class ConnectionEndpoints
{
    private const string Allowed = "GET, HEAD, POST, DELETE, PATCH";

    // ASP0022 (route conflict) is kept on purpose: the endpoint without methods is this resource's own 405/404 (why: AnyMethodFallback).
    /// <summary>Maps the resource on a group at <c>/@connections</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapConnectionEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapGet("", ListAsync);
        group.Map("", () => ManagementError.NotFound("A connection id is required."));
        // The sender is taken once here rather than from each request's services: a push then opens no service scope.
        var sender = group.ServiceProvider.GetRequiredService<ConnectionSender>();
        group.MapPost("/{id}", (string id, HttpContext context) => PostAsync(id, context, sender));
        group.MapGet("/{id}", GetAsync);
        group.MapMethods("/{id}", [HttpMethods.Head], GetAsync);
        group.MapDelete("/{id}", DeleteAsync);
        group.MapPatch("/{id}", PatchAsync);

        // Any other method: a malformed id is still the first thing wrong with the call, as for the methods above.
        group.Map("/{id}", (string id, HttpContext context) => ConnectionId.IsWellFormed(id)
            ? ManagementError.MethodNotAllowed(context.Request.Method, "a connection", Allowed)
            : ManagementError.BadId(id));
        return group;
    }

    /// <summary>
    /// Maps the admin dashboard's connection listing on its group at <c>/admin/api/connections</c>: <c>GET</c> as
    /// <c>GET /@connections</c> answers it, with the same query.
    /// </summary>
    public static IEndpointRouteBuilder MapDashboardConnectionEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapGet("", ListAsync);
        return group;
    }

    /// <summary>
    /// A push: a value task, which finishes without allocating when the connection is on this node (the usual case).
    /// </summary>
    private static async ValueTask<IResult> PostAsync(string id, HttpContext context, ConnectionSender sender)
    {
        if (!ConnectionId.IsWellFormed(id))
        {
            return ManagementError.BadId(id);
        }

        var result = await sender.SendAsync(id, ManagementBody.Message(ManagementBody.Of(context)), context.RequestAborted);
        return result == SendResult.Sent ? ManagementOk.Instance : ManagementError.Of(id, result);
    }

    private static async Task<Results<ManagementJsonResult<ConnectionBody>, ManagementError>> GetAsync(string id, HttpContext context, ConnectionSender sender)
    {
        if (!ConnectionId.IsWellFormed(id))
        {
            return ManagementError.BadId(id);
        }

        if (await sender.GetConnectionAsync(id, context.RequestAborted) is not { } snapshot)
        {
            return ManagementError.Of(id, SendResult.Gone);
        }

        var body = new ConnectionBody(Timestamp(snapshot.ConnectedAt), new IdentityBody(snapshot.SourceIp, snapshot.UserAgent), Timestamp(snapshot.LastActiveAt),
            snapshot.Attributes.Count > 0 ? snapshot.Attributes : null);
        return new ManagementJsonResult<ConnectionBody>(body, ManagementJson.Default.ConnectionBody);
    }

    private static async Task<Results<NoContent, ManagementError>> DeleteAsync(string id, HttpContext context, ConnectionSender sender)
    {
        if (!ConnectionId.IsWellFormed(id))
        {
            return ManagementError.BadId(id);
        }

        var closed = await sender.DisconnectAsync(id, CloseCodes.Normal, "Deleted", context.RequestAborted);
        return closed ? TypedResults.NoContent() : ManagementError.Of(id, SendResult.Gone);
    }

    /// <summary><c>PATCH</c> with a JSON object of string values sets those attributes; a null value removes one.</summary>
    private static async Task<Results<NoContent, ManagementError>> PatchAsync(string id, HttpContext context, ConnectionSender sender)
    {
        if (!ConnectionId.IsWellFormed(id))
        {
            return ManagementError.BadId(id);
        }

        Dictionary<string, string?>? changes;
        try
        {
            changes = JsonSerializer.Deserialize(ManagementBody.Of(context), ManagementJson.Default.DictionaryStringString);
        }
        catch (JsonException)
        {
            changes = null;
        }

        if (changes is null)
        {
            return ManagementError.BadRequest("The body must be a JSON object of string (or null) values.");
        }

        var set = await sender.SetAttributesAsync(id, changes, context.RequestAborted);
        return set ? TypedResults.NoContent() : ManagementError.Of(id, SendResult.Gone);
    }

    private static async Task<IResult> ListAsync(HttpContext context, ConnectionRegistry registry, ManagementQueries queries, IBackplane backplane, IOptions<GatewayOptions> options)
    {
        var query = context.Request.Query;
        var scope = query["scope"].ToString();
        if (scope == "node")
        {
            return List(context, registry, options);
        }

        if (scope is not ("" or "cluster"))
        {
            return ManagementError.BadRequest("Invalid scope: it is node (this node's connections) or cluster (every node's, the default).");
        }

        if (!PageRequest.TryLimit(query, options.Value.Management.MaxPageSize, out var limit, out var problem)
            || !PageRequest.TryCursor(query, static key => ConnectionId.IsWellFormed(key), out var after, out problem))
        {
            return ManagementError.BadRequest(problem);
        }

        string? userId = null;
        if (query.ContainsKey("userId"))
        {
            userId = query["userId"].ToString();
            if (!UserEndpoints.IsValidUserId(userId))
            {
                return ManagementError.BadRequest(UserEndpoints.InvalidUserId);
            }
        }

        string? topic = null;
        if (query.ContainsKey("topic"))
        {
            topic = query["topic"].ToString();
            if (!Topics.TopicName.IsValidName(topic, options.Value.Topics.MaxTopicLength))
            {
                return ManagementError.BadRequest(TopicEndpoints.InvalidTopic(options.Value.Topics.MaxTopicLength));
            }
        }

        var argument = ManagementQueries.Argument(json =>
        {
            json.WriteString("after", after);
            json.WriteNumber("limit", limit);
            json.WriteString("user", userId);
            json.WriteString("topic", topic);
        });
        var answers = await queries.AskAsync(backplane, ManagementQueries.ConnectionPage, argument, context.RequestAborted);
        var (count, items) = ConnectionPage(answers, limit + 1);
        var page = items.Take(limit).ToList();
        var next = items.Count > limit ? PageRequest.Encode(page[^1].ConnectionId) : null;
        return new ManagementJsonResult<ClusterConnectionListBody>(
            new ClusterConnectionListBody(count, page, next, answers.Complete, answers.Complete ? null : answers.MissingNodes),
            ManagementJson.Default.ClusterConnectionListBody);
    }

    /// <summary>
    /// The first <paramref name="take"/> connections of the nodes' answers to <see cref="ManagementQueries.ConnectionPage"/>,
    /// in id order, and how many match on all of them. Each node answered its own first ones after the cursor, so the
    /// first of them all are among these.
    /// </summary>
    internal static (int Count, List<ClusterConnectionItem> Items) ConnectionPage(ClusterAnswers answers, int take)
    {
        var count = 0;
        var items = new List<ClusterConnectionItem>();
        foreach (var (node, answer) in answers.Answers)
        {
            using var doc = JsonDocument.Parse(answer);
            count += doc.RootElement.GetProperty("total").GetInt32();
            foreach (var item in doc.RootElement.GetProperty("items").EnumerateArray())
            {
                var user = item.GetProperty("user");
                items.Add(new ClusterConnectionItem(item.GetProperty("id").GetString()!, node,
                    user.ValueKind == JsonValueKind.String ? user.GetString() : null, item.GetProperty("at").GetString()!));
            }
        }

        // A connection whose session moved may be answered twice for a moment: it is listed once.
        var page = items.DistinctBy(i => i.ConnectionId, StringComparer.Ordinal).OrderBy(i => i.ConnectionId, StringComparer.Ordinal).Take(take).ToList();
        return (count, page);
    }

    private static ManagementJsonResult<ConnectionListBody> List(HttpContext context, ConnectionRegistry registry, IOptions<GatewayOptions> options)
    {
        var query = context.Request.Query;
        var requested = int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : 100;
        var limit = Math.Clamp(requested, 1, options.Value.Management.MaxPageSize);
        var cursor = query["cursor"].FirstOrDefault() ?? "";

        // Id order makes the cursor stable while connections come and go between pages. Closing
        // connections are neither listed nor counted.
        var open = registry.All().Where(c => c.IsOpen && !c.AwaitingCredentials).ToList();
        var page = open
            .Where(c => string.CompareOrdinal(c.Id, cursor) > 0)
            .OrderBy(c => c.Id, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var items = page.Take(limit)
            .Select(c => new ConnectionItem(c.Id, Timestamp(c.ConnectedAt), new IdentityBody(c.SourceIp, c.UserAgent), Timestamp(c.LastActiveAt)))
            .ToList();
        var next = page.Count > limit ? items[^1].ConnectionId : null;
        return new ManagementJsonResult<ConnectionListBody>(new ConnectionListBody(open.Count, items, next), ManagementJson.Default.ConnectionListBody);
    }

    private static string Timestamp(DateTimeOffset value) => ManagementTime.Format(value);
}
