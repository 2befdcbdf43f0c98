using System.Text.Json;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Topics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// The admin dashboard at <c>/admin</c> on the management listener: a static page (embedded in the library) over JSON
/// endpoints under <c>/admin/api</c>, behind the management credentials (see <see cref="DashboardAccessFilter"/>).
/// Only the dashboard's own paths are mapped: the rest of <c>/admin</c> stays the hosting application's. The
/// cluster-wide views (a user's connections, the connection and topic listings, a topic and its history) are the
/// management API's own handlers, mapped again here by their resources behind the dashboard's access rules (a
/// browser's Basic login, the change header), so that the dashboard and the API answer alike; they take their user id
/// or topic as a query parameter, which a browser encodes without ambiguity (an encoded <c>/</c> in a path segment is
/// not decoded).
/// </summary>
internal static partial class AdminEndpoints
{
    /// <summary>The dashboard's path.</summary>
    public const string Path = "/admin";

    /// <summary>Maps the dashboard's page, files and JSON endpoints.</summary>
    public static RouteGroupBuilder MapAdminEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup(Path);
        admin.AddSingletonFilter<RouteGroupBuilder, ManagementListenerFilter>().AddSingletonFilter<RouteGroupBuilder, DashboardAccessFilter>();
        string[] read = [HttpMethods.Get, HttpMethods.Head];

        // "/admin/" also matches "/admin", which is sent to "/admin/" so that the page's relative links resolve.
        admin.MapMethods("/", read, Results<DashboardFile, RedirectHttpResult> (HttpContext context) =>
            context.Request.Path.Value?.EndsWith('/') == true ? new DashboardFile("index.html") : TypedResults.Redirect(Path + "/"));
        admin.MapMethods("/dashboard.js", read, () => new DashboardFile("dashboard.js"));
        admin.MapMethods("/dashboard.css", read, () => new DashboardFile("dashboard.css"));

        var api = admin.MapGroup("/api");
        api.MapMethods("/overview", read, OverviewAsync);
        api.MapMethods("/connections/{id}", read, ConnectionAsync);
        api.MapDelete("/connections/{id}", DisconnectAsync);
        api.MapPost("/connections/{id}/messages", SendAsync);

        // GET /@connections, GET and DELETE /@users/{userId}, GET /@topics, GET /@topics/{topic} and its history.
        api.MapGroup("/connections").MapDashboardConnectionEndpoints();
        api.MapGroup("/user").AddEndpointFilter(LogUserClosedAsync).MapDashboardUserEndpoints();
        api.MapGroup("/topics").MapDashboardTopicListEndpoints();
        api.MapGroup("/topic").MapDashboardTopicEndpoints();

        // Anything else under /admin/api, a method the path does not take included, is the dashboard's own 404.
        api.Map("/{**rest}", () => NoSuchResource());
        return admin;
    }

    private static DashboardJsonResult NoSuchResource() => DashboardJsonResult.Error(StatusCodes.Status404NotFound, "No such dashboard resource.");

    private static async Task<DashboardJsonResult> ConnectionAsync(HttpContext context, ConnectionSender sender)
    {
        if (ConnectionIdOf(context, "") is not { } id)
        {
            return NoSuchResource();
        }

        return await sender.GetConnectionAsync(id, context.RequestAborted) is { } snapshot
            ? new DashboardJsonResult(StatusCodes.Status200OK, json => WriteConnection(json, snapshot))
            : DashboardJsonResult.Error(StatusCodes.Status404NotFound, $"No connection {id} is open.");
    }

    private static async Task<DashboardJsonResult> DisconnectAsync(HttpContext context, ConnectionSender sender, ILoggerFactory loggers)
    {
        if (ConnectionIdOf(context, "") is not { } id)
        {
            return NoSuchResource();
        }

        var closed = await sender.DisconnectAsync(id, cancellationToken: context.RequestAborted);
        var logger = loggers.CreateLogger(typeof(AdminEndpoints));
        var by = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var shown = Diagnostics.LogText.Printable(id);
        Log.Disconnected(logger, shown, by);
        return new DashboardJsonResult(closed ? StatusCodes.Status200OK : StatusCodes.Status404NotFound, json => json.WriteBoolean("disconnected", closed));
    }

    private static async Task<DashboardJsonResult> SendAsync(HttpContext context, ConnectionSender sender)
    {
        if (ConnectionIdOf(context, "/messages") is not { } id)
        {
            return NoSuchResource();
        }

        var result = await sender.SendAsync(id, OutboundMessage.Text(ManagementBody.Of(context)), context.RequestAborted);
        return new DashboardJsonResult(result == SendResult.Sent ? StatusCodes.Status200OK : Status(result), json => json.WriteString("result", result.ToString()));
    }

    private static async Task<DashboardJsonResult> OverviewAsync(
        HttpContext context, GatewayNode node, ConnectionRegistry registry, IBackplane backplane, DashboardSampler sampler, TopicHub topicHub, IOptions<GatewayOptions> options)
    {
        var self = sampler.Latest with { Connections = registry.Count, Subscriptions = topicHub.SubscriptionCount };
        IReadOnlyList<NodeReport> others = [];
        string? partial = null;
        try
        {
            others = await backplane.OtherNodesAsync(context.RequestAborted);
        }
        catch (BackplaneUnavailableException ex)
        {
            partial = "Other nodes cannot be reached: " + ex.Message;
        }

        var nodes = new List<NodeReport>(others.Count + 1) { self };
        nodes.AddRange(others.OrderBy(n => n.NodeId, StringComparer.Ordinal));

        // The chart: the nodes' samples summed where their times meet (they are multiples of the interval).
        var samples = new SortedDictionary<long, (int Connections, double In, double Out)>();
        foreach (var sample in nodes.SelectMany(n => n.Samples))
        {
            var sum = samples.GetValueOrDefault(sample.Time);
            samples[sample.Time] = (sum.Connections + sample.Connections, sum.In + sample.MessagesIn, sum.Out + sample.MessagesOut);
        }

        var topics = nodes.SelectMany(n => n.Topics)
            .GroupBy(t => t.Key, StringComparer.Ordinal)
            .Select(g => (Pattern: g.Key, Subscribers: g.Sum(t => t.Value)))
            .OrderByDescending(t => t.Subscribers).ThenBy(t => t.Pattern, StringComparer.Ordinal)
            .Take(DashboardSampler.TopTopics);
        var sampleInterval = options.Value.Management.Dashboard.SampleInterval;
        return new DashboardJsonResult(StatusCodes.Status200OK, json =>
        {
            json.WriteString("node", node.Id);
            json.WriteString("backplane", EngineName(backplane));
            json.WriteBoolean("backplaneAvailable", backplane.IsAvailable);
            json.WriteBoolean("draining", registry.IsDraining);
            json.WriteNumber("sampleIntervalSeconds", sampleInterval.TotalSeconds);
            if (partial is not null)
            {
                json.WriteString("partial", partial);
            }

            json.WriteStartObject("cluster");
            json.WriteNumber("nodes", nodes.Count);
            json.WriteNumber("connections", nodes.Sum(n => n.Connections));
            json.WriteNumber("subscriptions", nodes.Sum(n => n.Subscriptions));
            json.WriteNumber("messagesInPerSecond", Math.Round(nodes.Sum(n => n.MessagesInPerSecond), 2));
            json.WriteNumber("messagesOutPerSecond", Math.Round(nodes.Sum(n => n.MessagesOutPerSecond), 2));
            json.WriteEndObject();
            json.WriteStartArray("nodes");
            foreach (var report in nodes)
            {
                report.WriteTo(json, withSamples: false);
            }

            json.WriteEndArray();
            json.WriteStartArray("samples");
            foreach (var (time, sum) in samples)
            {
                new NodeSample(time, sum.Connections, sum.In, sum.Out).WriteTo(json);
            }

            json.WriteEndArray();
            json.WriteStartArray("topics");
            foreach (var (pattern, subscribers) in topics)
            {
                json.WriteStartObject();
                json.WriteString("pattern", pattern);
                json.WriteNumber("subscribers", subscribers);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        });
    }

    /// <summary>Logs who closed a user's connections from the dashboard, and how many were closed.</summary>
    private static async ValueTask<object?> LogUserClosedAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        var http = context.HttpContext;
        if (HttpMethods.IsDelete(http.Request.Method) && result is ManagementJsonResult<ClosedBody> { Value: var closed })
        {
            var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminEndpoints));
            var shown = Diagnostics.LogText.Printable(http.Request.Query["userId"].ToString());
            var by = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            Log.UserClosed(logger, shown, closed.Closed, by);
        }

        return result;
    }

    /// <summary>The engine's name as the dashboard shows it: <c>none</c> for the single node, else the backplane's own (<c>redis</c>).</summary>
    internal static string EngineName(IBackplane backplane) => backplane.Engine;

    private static void WriteConnection(Utf8JsonWriter json, ConnectionSnapshot snapshot)
    {
        json.WriteString("connectionId", snapshot.ConnectionId);
        json.WriteString("node", snapshot.ConnectionId[..ConnectionId.NodeIdLength]);
        json.WriteString("connectedAt", snapshot.ConnectedAt);
        json.WriteString("lastActiveAt", snapshot.LastActiveAt);
        json.WriteString("sourceIp", snapshot.SourceIp);
        json.WriteString("userAgent", snapshot.UserAgent);
        json.WriteString("userId", snapshot.UserId);
        json.WriteString("authMethod", snapshot.AuthMethod);
        json.WriteNumber("queuedMessages", snapshot.QueuedMessages);
        json.WriteStartArray("subscriptions");
        foreach (var pattern in snapshot.Subscriptions ?? [])
        {
            json.WriteStringValue(pattern);
        }

        json.WriteEndArray();
        json.WriteStartObject("attributes");
        foreach (var (key, value) in snapshot.Attributes)
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }

    private static int Status(SendResult result) => result switch
    {
        SendResult.Gone => StatusCodes.Status410Gone,
        SendResult.QueueFull => StatusCodes.Status429TooManyRequests,
        SendResult.Unavailable => StatusCodes.Status503ServiceUnavailable,
        SendResult.BadId => StatusCodes.Status400BadRequest,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The connection id of <c>/api/connections/{id}{suffix}</c>; null when the segment cannot be one.</summary>
    private static string? ConnectionIdOf(HttpContext context, string suffix) =>
        RawSegment(context, "/api/connections/", suffix) is { Length: > 0 } id && !id.Contains('/', StringComparison.Ordinal) ? id : null;

    /// <summary>
    /// The part of the path between <paramref name="prefix"/> and <paramref name="suffix"/> (after <c>/admin</c>), taken
    /// from the request target as the client sent it and decoded exactly once, so that an id holding an encoded
    /// <c>/</c> or <c>%</c> comes out as it was meant (the server's own decoding keeps <c>%2F</c> and would leave the
    /// route value ambiguous); null when the target does not have that shape.
    /// </summary>
    private static string? RawSegment(HttpContext context, string prefix, string suffix)
    {
        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? "";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var target = query >= 0 ? raw[..query] : raw;
        if (!target.StartsWith(Path, StringComparison.OrdinalIgnoreCase))
        {
            // Not the origin form (or rewritten by the application): the decoded path, which is what routing matched.
            target = context.Request.Path.Value ?? "";
        }

        var rest = target.Length > Path.Length ? target[Path.Length..] : "";
        return rest.Length >= prefix.Length + suffix.Length && rest.StartsWith(prefix, StringComparison.Ordinal) && rest.EndsWith(suffix, StringComparison.Ordinal)
            ? Uri.UnescapeDataString(rest[prefix.Length..^suffix.Length])
            : null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1462, Level = LogLevel.Information, Message = "Connection {ConnectionId} disconnected from the dashboard by {RemoteAddress}")]
        public static partial void Disconnected(ILogger logger, string connectionId, string remoteAddress);

        [LoggerMessage(EventId = 1464, Level = LogLevel.Information, Message = "{Closed} connections of user {UserId} closed from the dashboard by {RemoteAddress}")]
        public static partial void UserClosed(ILogger logger, string userId, int closed, string remoteAddress);
    }
}
