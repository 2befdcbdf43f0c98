using Gateway.Configuration;
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
/// </summary>
internal static partial class TopicEndpoints
{
    private const string Resource = "@topics";

    /// <summary>Maps the resource on a group at <c>/@topics</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapTopicEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPost("/{topic}", PublishAsync);
        group.MapPost("", () => ManagementError.NotFound($"{Resource} needs an id: {Resource}/{{id}}."));
        group.Map("", NotAllowed);
        group.Map("/{topic}", NotAllowed);
        return group;
    }

    private static ManagementError NotAllowed(HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, HttpMethods.Post);

    private static async Task<Results<ManagementJsonResult<DeliveredBody>, ManagementError>> PublishAsync(
        string topic, HttpContext context, IGatewayPublisher publisher, IOptions<GatewayOptions> options, ILoggerFactory loggers)
    {
        var maxTopicLength = options.Value.Topics.MaxTopicLength;
        if (!TopicName.IsValidName(topic, maxTopicLength))
        {
            return ManagementError.BadRequest($"Invalid topic: a topic is dot-separated segments without wildcards, at most {maxTopicLength} characters.");
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
