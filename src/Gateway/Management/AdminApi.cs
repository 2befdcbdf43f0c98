using System.Text.Json;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// The admin dashboard at <c>/admin</c> on the management listener: a static page (embedded in the library) over JSON
/// endpoints under <c>/admin/api</c>, behind the management credentials. A browser sends them as HTTP Basic (an access
/// key id and its secret, or an API key as the password); scripts may use any form the management API takes.
/// Changes (<c>POST</c>, <c>DELETE</c>) need the header <c>X-Gateway-Admin: 1</c>, which another site's page cannot
/// send without a CORS preflight that is never granted, so a browser holding the credentials cannot be made to act.
/// </summary>
public sealed partial class AdminApi(
    IOptions<GatewayOptions> options,
    GatewayNode node,
    ConnectionRegistry registry,
    ConnectionSender sender,
    IBackplane backplane,
    DashboardSampler sampler,
    Topics.TopicHub topicHub,
    GatewayListeners listeners,
    ManagementAccess access,
    ILogger<AdminApi> logger)
{
    /// <summary>The dashboard's path.</summary>
    public const string Path = "/admin";

    /// <summary>The header a change must carry.</summary>
    public const string ChangeHeader = "X-Gateway-Admin";

    private const int MaxListed = 100;
    private readonly ManagementOptions _options = options.Value.Management;

    /// <summary>Serves every request under <c>/admin</c>.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.Response;
        if (!listeners.Accepts(context, GatewayListenerKind.Management))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        var body = await ConnectionsApi.ReadBodyAsync(context.Request, _options.MaxPayloadBytes, context.RequestAborted);
        if (body is null)
        {
            await ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"The body exceeds {_options.MaxPayloadBytes} bytes.");
            return;
        }

        if (access.Refusal(context, body, allowBasic: true) is { } refusal)
        {
            // A browser's first request carries no credentials by design (the answer makes it ask for them): that is
            // not worth a warning; wrong credentials are.
            var from = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            if (refusal == ManagementAccess.CredentialsRequired)
            {
                Log.Challenged(logger, from);
            }
            else
            {
                Log.Refused(logger, from, refusal);
            }

            if (access.RequiresCredentials)
            {
                // The browser asks for the credentials and sends them with every request after.
                response.Headers.WWWAuthenticate = "Basic realm=\"Gateway admin\", charset=\"UTF-8\"";
                await ErrorAsync(context, StatusCodes.Status401Unauthorized, "The management credentials are required.");
            }
            else
            {
                await ErrorAsync(context, StatusCodes.Status403Forbidden, "Until management credentials are configured, the dashboard is served to this machine only.");
            }

            return;
        }

        var method = context.Request.Method;
        var rest = RestOfPath(context);
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method))
        {
            var origin = context.Request.Headers.Origin.ToString();
            if (context.Request.Headers[ChangeHeader] != "1" || (origin.Length > 0 && !SameOrigin(origin, context.Request)))
            {
                await ErrorAsync(context, StatusCodes.Status403Forbidden, $"A change needs the header {ChangeHeader}: 1, from the dashboard's own origin.");
                return;
            }
        }

        try
        {
            await RouteAsync(context, rest, method, body);
        }
        catch (BackplaneUnavailableException ex)
        {
            await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "Other nodes cannot be reached right now: " + ex.Message);
        }
    }

    private async Task RouteAsync(HttpContext context, string rest, string method, byte[] body)
    {
        var get = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        switch (rest)
        {
            case "":
                context.Response.Redirect(Path + "/");
                return;
            case "/" when get:
                await DashboardFiles.WriteAsync(context, "index.html");
                return;
            case "/dashboard.js" when get:
                await DashboardFiles.WriteAsync(context, "dashboard.js");
                return;
            case "/dashboard.css" when get:
                await DashboardFiles.WriteAsync(context, "dashboard.css");
                return;
            case "/api/overview" when get:
                await OverviewAsync(context);
                return;
        }

        const string connections = "/api/connections/", users = "/api/users/";
        if (rest.StartsWith(connections, StringComparison.Ordinal))
        {
            var tail = rest[connections.Length..];
            var messages = tail.EndsWith("/messages", StringComparison.Ordinal);
            var id = Uri.UnescapeDataString(messages ? tail[..^"/messages".Length] : tail);
            if (id.Length == 0 || id.Contains('/', StringComparison.Ordinal))
            {
                await ErrorAsync(context, StatusCodes.Status404NotFound, "No such dashboard resource.");
                return;
            }

            if (messages && HttpMethods.IsPost(method))
            {
                var result = await sender.SendAsync(id, OutboundMessage.Text(body), context.RequestAborted);
                await WriteAsync(context, result == SendResult.Sent ? StatusCodes.Status200OK : Status(result), json => json.WriteString("result", result.ToString()));
                return;
            }

            if (!messages && get)
            {
                var snapshot = await sender.GetConnectionAsync(id, context.RequestAborted);
                if (snapshot is null)
                {
                    await ErrorAsync(context, StatusCodes.Status404NotFound, $"No connection {id} is open.");
                    return;
                }

                await WriteAsync(context, StatusCodes.Status200OK, json => WriteConnection(json, snapshot));
                return;
            }

            if (!messages && HttpMethods.IsDelete(method))
            {
                var closed = await sender.DisconnectAsync(id, cancellationToken: context.RequestAborted);
                var by = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                var shown = Diagnostics.LogText.Printable(id);
                Log.Disconnected(logger, shown, by);
                await WriteAsync(context, closed ? StatusCodes.Status200OK : StatusCodes.Status404NotFound, json => json.WriteBoolean("disconnected", closed));
                return;
            }
        }

        if (rest.Length > users.Length + "/connections".Length && rest.StartsWith(users, StringComparison.Ordinal) && rest.EndsWith("/connections", StringComparison.Ordinal) && get)
        {
            var userId = Uri.UnescapeDataString(rest[users.Length..^"/connections".Length]);
            await UserAsync(context, userId);
            return;
        }

        await ErrorAsync(context, StatusCodes.Status404NotFound, "No such dashboard resource.");
    }

    private async Task OverviewAsync(HttpContext context)
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
        await WriteAsync(context, StatusCodes.Status200OK, json =>
        {
            json.WriteString("node", node.Id);
            json.WriteString("backplane", backplane.Engine);
            json.WriteBoolean("backplaneAvailable", backplane.IsAvailable);
            json.WriteBoolean("draining", registry.IsDraining);
            json.WriteNumber("sampleIntervalSeconds", _options.Dashboard.SampleInterval.TotalSeconds);
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

    private async Task UserAsync(HttpContext context, string userId)
    {
        // This node's connections always; other nodes' as far as they answer (a node that does not is named).
        var ids = registry.OfUser(userId).Where(c => c.IsOpen).Select(c => c.Id).ToList();
        string? partial = null;
        try
        {
            var elsewhere = await backplane.UserConnectionsAsync(userId, context.RequestAborted);
            ids.AddRange(elsewhere.ConnectionIds);
            if (elsewhere.Unreachable.Count > 0)
            {
                partial = "Nodes that did not answer: " + string.Join(", ", elsewhere.Unreachable);
            }
        }
        catch (BackplaneUnavailableException ex)
        {
            partial = "Other nodes cannot be reached: " + ex.Message;
        }

        var snapshots = new List<ConnectionSnapshot>();
        foreach (var id in ids.Distinct(StringComparer.Ordinal).Take(MaxListed))
        {
            try
            {
                if (await sender.GetConnectionAsync(id, context.RequestAborted) is { } snapshot)
                {
                    snapshots.Add(snapshot);
                }
            }
            catch (BackplaneUnavailableException ex)
            {
                partial ??= "Some connections could not be described: " + ex.Message;
            }
        }

        await WriteAsync(context, StatusCodes.Status200OK, json =>
        {
            json.WriteString("userId", userId);
            if (partial is not null)
            {
                json.WriteString("partial", partial);
            }

            json.WriteNumber("total", ids.Count);
            json.WriteStartArray("connections");
            foreach (var snapshot in snapshots.OrderBy(s => s.ConnectedAt))
            {
                json.WriteStartObject();
                WriteConnection(json, snapshot);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        });
    }

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

    /// <summary>
    /// The path after <c>/admin</c>, from the request target as the client sent it, so that ids are percent-decoded
    /// exactly once (by the caller of this, per segment) and an encoded <c>/</c> stays inside its segment.
    /// </summary>
    private static string RestOfPath(HttpContext context)
    {
        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? "";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var target = query >= 0 ? raw[..query] : raw;
        if (!target.StartsWith(Path, StringComparison.OrdinalIgnoreCase))
        {
            // Not the origin form (or rewritten by the application): the decoded path, which is what routing matched.
            target = context.Request.Path.Value ?? "";
        }

        return target.Length > Path.Length ? target[Path.Length..] : "";
    }

    private static bool SameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static Task ErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, json => json.WriteString("message", message));

    private static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1461, Level = LogLevel.Warning, Message = "Dashboard request from {RemoteAddress} refused: {Reason}")]
        public static partial void Refused(ILogger logger, string remoteAddress, string reason);

        [LoggerMessage(EventId = 1463, Level = LogLevel.Debug, Message = "Dashboard request from {RemoteAddress} without credentials; asked for them")]
        public static partial void Challenged(ILogger logger, string remoteAddress);

        [LoggerMessage(EventId = 1462, Level = LogLevel.Information, Message = "Connection {ConnectionId} disconnected from the dashboard by {RemoteAddress}")]
        public static partial void Disconnected(ILogger logger, string connectionId, string remoteAddress);
    }
}
