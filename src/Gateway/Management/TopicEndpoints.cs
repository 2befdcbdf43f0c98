using System.Text.Json;
using Gateway.Configuration;
using Gateway.Presence;
using Gateway.Topics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Gateway.Backplane;

namespace Gateway.Management;

/// <summary>
/// <c>POST /@topics/{topic}</c>: publishes an event to a topic's subscribers, the body <c>{"type":…,"data":…}</c> or,
/// with <c>?type=</c>, the data itself. Answers <c>{"delivered": n}</c>: how many connections of this node took it.
/// <c>GET</c> counts the topic's subscribers on every node (<c>HEAD</c>: whether it has one), and <c>GET /@topics</c>
/// lists the topics and patterns with subscribers a page at a time.
/// </summary>
internal static partial class TopicEndpoints
{
    private const string Resource = "@topics";
    private const string Allowed = "GET, HEAD, POST";

    /// <summary>Maps the resource on a group at <c>/@topics</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapTopicEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPost("/{topic}", PublishAsync);
        group.MapGet("/{topic}", GetAsync);
        group.MapMethods("/{topic}", [HttpMethods.Head], HeadAsync);
        group.MapGet("", ListAsync);
        group.MapTopicHistoryEndpoints();
        group.MapPost("", () => ManagementError.NotFound($"{Resource} needs an id: {Resource}/{{id}}."));
        group.Map("", (HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, HttpMethods.Get));
        group.Map("/{topic}", (HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, Allowed));
        return group;
    }

    /// <summary>Maps the admin dashboard's topic listing on its group at <c>/admin/api/topics</c>: <c>GET</c> as <c>GET /@topics</c>.</summary>
    public static IEndpointRouteBuilder MapDashboardTopicListEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapGet("", ListAsync);
        return group;
    }

    /// <summary>
    /// Maps the admin dashboard's topic view on its group at <c>/admin/api/topic</c>: <c>GET</c> as
    /// <c>GET /@topics/{topic}</c> and <c>GET /history</c> as its history, the topic taken from the query (<c>?topic=</c>).
    /// </summary>
    public static IEndpointRouteBuilder MapDashboardTopicEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapGet("", GetAsync);
        group.MapDashboardTopicHistoryEndpoints();
        return group;
    }

    /// <summary>Why a topic is refused.</summary>
    public static string InvalidTopic(int maxTopicLength) =>
        $"Invalid topic: a topic is dot-separated segments without wildcards, at most {maxTopicLength} characters.";

    private static async Task<IResult> GetAsync(string topic, HttpContext context, ManagementQueries queries, IBackplane backplane, PresenceTracker presence, IOptions<GatewayOptions> options)
    {
        var maxTopicLength = options.Value.Topics.MaxTopicLength;
        if (!TopicName.IsValidName(topic, maxTopicLength))
        {
            return ManagementError.BadRequest(InvalidTopic(maxTopicLength));
        }

        var answers = await queries.AskAsync(backplane, ManagementQueries.TopicSubscribers, topic, context.RequestAborted);
        var subscribers = answers.Answers.Sum(a => ManagementQueries.ReadDecimal(a.Value));

        // Members come from this node's roster, which every node's joins and leaves reach: no question to ask them.
        var members = presence.MembersOf(topic)?.Members.Select(m => new PresenceMemberItem(m.ConnectionId, m.UserId, PresenceRules.InfoElement(m))).ToList();
        return new ManagementJsonResult<TopicBody>(new TopicBody(topic, subscribers, answers.Complete, answers.Complete ? null : answers.MissingNodes, members), ManagementJson.Default.TopicBody);
    }

    private static async Task<IResult> HeadAsync(string topic, HttpContext context, ManagementQueries queries, IBackplane backplane, IOptions<GatewayOptions> options)
    {
        var maxTopicLength = options.Value.Topics.MaxTopicLength;
        if (!TopicName.IsValidName(topic, maxTopicLength))
        {
            return ManagementError.BadRequest(InvalidTopic(maxTopicLength));
        }

        var answers = await queries.AskAsync(backplane, ManagementQueries.TopicSubscribers, topic, context.RequestAborted);
        return answers.Answers.Any(a => ManagementQueries.ReadDecimal(a.Value) > 0)
            ? ManagementOk.Instance
            : ManagementError.NotFound($"Topic {topic} has no subscriber.");
    }

    private static async Task<IResult> ListAsync(HttpContext context, ManagementQueries queries, IBackplane backplane, IOptions<GatewayOptions> options)
    {
        var query = context.Request.Query;
        var maxTopicLength = options.Value.Topics.MaxTopicLength;
        if (!PageRequest.TryLimit(query, options.Value.Management.MaxPageSize, out var limit, out var problem)
            || !PageRequest.TryCursor(query, key => key.Length <= maxTopicLength && !key.Any(char.IsControl), out var after, out problem))
        {
            return ManagementError.BadRequest(problem);
        }

        var prefix = query["prefix"].ToString();
        if (prefix.Length > maxTopicLength || prefix.Any(char.IsControl))
        {
            return ManagementError.BadRequest($"Invalid prefix: at most {maxTopicLength} characters, without control characters.");
        }

        var argument = ManagementQueries.Argument(json =>
        {
            json.WriteString("after", after);
            json.WriteNumber("limit", limit);
            json.WriteString("prefix", prefix);
        });
        var answers = await queries.AskAsync(backplane, ManagementQueries.TopicPage, argument, context.RequestAborted);

        // Each node answered its own first patterns after the cursor; a pattern among the first of them all is among
        // the first of every node that has it, so its counts here are whole.
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, answer) in answers.Answers)
        {
            using var doc = JsonDocument.Parse(answer);
            foreach (var item in doc.RootElement.GetProperty("items").EnumerateArray())
            {
                var channel = item.GetProperty("channel").GetString()!;
                counts[channel] = counts.GetValueOrDefault(channel) + item.GetProperty("subscribers").GetInt32();
            }
        }

        var page = counts.Take(limit).Select(c => new TopicItem(c.Key, c.Value)).ToList();
        var next = counts.Count > limit ? PageRequest.Encode(page[^1].Channel) : null;
        return new ManagementJsonResult<TopicListBody>(
            new TopicListBody(page.Count, page, next, answers.Complete, answers.Complete ? null : answers.MissingNodes),
            ManagementJson.Default.TopicListBody);
    }

    private static async Task<Results<ManagementJsonResult<DeliveredBody>, ManagementError>> PublishAsync(
        string topic, HttpContext context, IGatewayPublisher publisher, IOptions<GatewayOptions> options, ILoggerFactory loggers)
    {
        var maxTopicLength = options.Value.Topics.MaxTopicLength;
        if (!TopicName.IsValidName(topic, maxTopicLength))
        {
            return ManagementError.BadRequest(InvalidTopic(maxTopicLength));
        }

        if (!TryReadEvent(context.Request.Query["type"].ToString(), ManagementBody.Of(context), out var type, out var data, out var problem))
        {
            return ManagementError.BadRequest(problem);
        }

        if (ExcludeQuery.TryRead(context, out var exclude) is { } badExclude)
        {
            return badExclude;
        }

        int delivered;
        try
        {
            delivered = await publisher.PublishAsync(topic, type, data, exclude, context.RequestAborted);
        }
        catch (NotSupportedException)
        {
            return ExcludeQuery.NotWithSharedHistory();
        }

        var logger = loggers.CreateLogger(typeof(TopicEndpoints));
        Log.Published(logger, topic, type, delivered);
        return new ManagementJsonResult<DeliveredBody>(new DeliveredBody(delivered), ManagementJson.Default.DeliveredBody);
    }

    /// <summary>
    /// The event of a topic publish: with <c>?type=</c> the body is the data (JSON as it is, other text as a JSON
    /// string); without it the body must be <c>{"type": "…", "data": …}</c>.
    /// </summary>
    internal static bool TryReadEvent(string queryType, byte[] body, out string type, out ReadOnlyMemory<byte> data, out string problem)
    {
        type = queryType;
        data = default;
        problem = "";
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            problem = "The body must be UTF-8 text or JSON.";
            return false;
        }

        if (queryType.Length > 0)
        {
            if (TopicData.IsValid(body))
            {
                data = body;
                return true;
            }

            // Written as the topic's frames are: only the escapes JSON requires, straight from the UTF-8.
            data = Protocol.FrameJson.StringValue(body);
            return true;
        }

        if (TopicData.TryReadEvent(body, out type, out var read))
        {
            data = read;
            return true;
        }

        problem = "The body must be {\"type\": \"...\", \"data\": ...}, or the type must be given as ?type=.";
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1511, Level = LogLevel.Debug, Message = "Published {Type} to {Topic}: {Delivered} local connections took it")]
        public static partial void Published(ILogger logger, string topic, string type, int delivered);
    }
}
