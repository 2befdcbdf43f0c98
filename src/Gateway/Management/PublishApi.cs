using System.Globalization;
using System.Text.Unicode;
using Gateway.Connections;
using Gateway.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// Publishing beyond one connection, on the management API: <c>POST /@topics/{topic}</c> (a JSON body
/// <c>{"type":…,"data":…}</c>, or any body with <c>?type=</c>), <c>POST /@users/{userId}</c> and <c>POST /@broadcast</c>
/// (the body delivered as it is, as <c>POST /@connections/{id}</c> does). Each answers <c>{"delivered": n}</c>: how many
/// connections of this node took it.
/// </summary>
public sealed partial class PublishApi(IOptions<Configuration.GatewayOptions> options, IGatewayPublisher publisher, ILogger<PublishApi> logger)
{
    /// <summary>Topic events.</summary>
    public const string Topics = "@topics";

    /// <summary>A user's connections.</summary>
    public const string Users = "@users";

    /// <summary>Every connection.</summary>
    public const string Broadcast = "@broadcast";

    private readonly int _maxTopicLength = options.Value.Topics.MaxTopicLength;

    /// <summary>True for a resource this API serves.</summary>
    public static bool Serves(string resource) => resource is Topics or Users or Broadcast;

    /// <summary>Serves one authorized request; <paramref name="body"/> has been read within its limit.</summary>
    public async Task HandleAsync(HttpContext context, ManagementRequest request, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await ManagementErrors.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, ManagementErrors.MethodNotAllowed, $"{context.Request.Method} is not supported on {request.Resource}.");
            return;
        }

        var cancel = context.RequestAborted;
        int delivered;
        switch (request.Resource)
        {
            case Broadcast when request.Id is null:
                delivered = await publisher.BroadcastAsync(Message(body), cancel);
                break;
            case Users when !string.IsNullOrEmpty(request.Id):
                delivered = await publisher.SendToUserAsync(request.Id, Message(body), cancel);
                break;
            case Topics when !string.IsNullOrEmpty(request.Id):
                if (!TopicName.IsValidName(request.Id, _maxTopicLength))
                {
                    await ManagementErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ManagementErrors.BadRequest,
                        $"Invalid topic: a topic is dot-separated segments without wildcards, at most {_maxTopicLength} characters.");
                    return;
                }

                if (!TryReadEvent(context.Request.Query["type"].ToString(), body, out var type, out var data, out var problem))
                {
                    await ManagementErrors.WriteAsync(context, StatusCodes.Status400BadRequest, ManagementErrors.BadRequest, problem);
                    return;
                }

                delivered = await publisher.PublishAsync(request.Id, type, data, cancel);
                Log.Published(logger, request.Id, type, delivered);
                break;
            default:
                await ManagementErrors.WriteAsync(context, StatusCodes.Status404NotFound, ManagementErrors.NotFound,
                    request.Resource == Broadcast ? "@broadcast takes no id." : $"{request.Resource} needs an id: {request.Resource}/{{id}}.");
                return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"{{\"delivered\":{delivered}}}"), cancel);
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
        if (!Utf8.IsValid(body))
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

    private static OutboundMessage Message(byte[] body) => Utf8.IsValid(body) ? OutboundMessage.Text(body) : OutboundMessage.Binary(body);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1511, Level = LogLevel.Debug, Message = "Published {Type} to {Topic}: {Delivered} local connections took it")]
        public static partial void Published(ILogger logger, string topic, string type, int delivered);
    }
}
