using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Xml;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Topics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// Topic subscriptions made by the server: <c>PUT</c> / <c>DELETE /@connections/{id}/topics/{topic}</c> (204) for one
/// connection on any node, and <c>PUT</c> / <c>DELETE /@users/{userId}/topics/{topic}</c> (<c>{"connections": n}</c>)
/// for every connection of a user on every node, with <c>?for=</c> (<c>00:10:00</c> or ISO 8601 <c>PT10M</c>, at most
/// 24 hours) for the connections the user opens within that time too. The client is told
/// <c>{"type":"subscribed","channel":…,"by":"server"}</c> or <c>{"type":"unsubscribed","channel":…,"by":"server"}</c>.
/// A topic is anything a client could subscribe to (a topic or a pattern); the client's topic authorization does not
/// apply, the subscription limit per connection does (429 <c>LimitExceededException</c> over it).
/// </summary>
internal static class SubscriptionEndpoints
{
    private const string Allowed = "PUT, DELETE";

    // ASP0022 (route conflict) is kept on purpose: the endpoint without methods is this resource's own 405/404 (why: AnyMethodFallback).
    /// <summary>Maps <c>/{id}/topics/{topic}</c> on the group at <c>/@connections</c>.</summary>
    [SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapConnectionTopicEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPut("/{id}/topics/{topic}", SubscribeConnectionAsync);
        group.MapDelete("/{id}/topics/{topic}", UnsubscribeConnectionAsync);
        group.Map("/{id}/topics/{topic}", (HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, "a connection's topic", Allowed));
        return group;
    }

    // ASP0022 (route conflict) is kept on purpose: the endpoint without methods is this resource's own 405/404 (why: AnyMethodFallback).
    /// <summary>Maps <c>/{userId}/topics/{topic}</c> on the group at <c>/@users</c>.</summary>
    [SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapUserTopicEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPut("/{userId}/topics/{topic}", SubscribeUserAsync);
        group.MapDelete("/{userId}/topics/{topic}", UnsubscribeUserAsync);
        group.Map("/{userId}/topics/{topic}", (HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, "a user's topic", Allowed));
        return group;
    }

    private static async Task<Results<NoContent, ManagementError>> SubscribeConnectionAsync(
        string id, string topic, HttpContext context, ServerSubscriptions subscriptions, IOptions<GatewayOptions> options)
    {
        if (Refusal(id, topic, options.Value.Topics) is { } refusal)
        {
            return refusal;
        }

        var result = await subscriptions.SubscribeAsync(id, topic, context.RequestAborted);
        return result == ServerTopicResult.Done ? TypedResults.NoContent() : Error(id, result, options.Value.Topics);
    }

    private static async Task<Results<NoContent, ManagementError>> UnsubscribeConnectionAsync(
        string id, string topic, HttpContext context, ServerSubscriptions subscriptions, IOptions<GatewayOptions> options)
    {
        if (Refusal(id, topic, options.Value.Topics) is { } refusal)
        {
            return refusal;
        }

        var result = await subscriptions.UnsubscribeAsync(id, topic, context.RequestAborted);
        return result == ServerTopicResult.Done ? TypedResults.NoContent() : Error(id, result, options.Value.Topics);
    }

    private static async Task<Results<ManagementJsonResult<SubscribedConnectionsBody>, ManagementError>> SubscribeUserAsync(
        string userId, string topic, HttpContext context, ServerSubscriptions subscriptions, IOptions<GatewayOptions> options)
    {
        if (TopicRefusal(topic, options.Value.Topics) is { } refusal)
        {
            return refusal;
        }

        if (!TryReadFor(context, out var remember, out var error))
        {
            return error;
        }

        var count = await subscriptions.SubscribeUserAsync(userId, topic, remember, context.RequestAborted);
        return Counted(count);
    }

    private static async Task<Results<ManagementJsonResult<SubscribedConnectionsBody>, ManagementError>> UnsubscribeUserAsync(
        string userId, string topic, HttpContext context, ServerSubscriptions subscriptions, IOptions<GatewayOptions> options)
    {
        if (TopicRefusal(topic, options.Value.Topics) is { } refusal)
        {
            return refusal;
        }

        if (!TryReadFor(context, out var remember, out var error))
        {
            return error;
        }

        var count = await subscriptions.UnsubscribeUserAsync(userId, topic, forget: remember is not null, context.RequestAborted);
        return Counted(count);
    }

    private static ManagementJsonResult<SubscribedConnectionsBody> Counted(int count) =>
        new(new SubscribedConnectionsBody(count), ManagementJson.Default.SubscribedConnectionsBody);

    private static ManagementError? Refusal(string id, string topic, TopicsOptions topics) =>
        !ConnectionId.IsWellFormed(id) ? ManagementError.BadId(id) : TopicRefusal(topic, topics);

    private static ManagementError? TopicRefusal(string topic, TopicsOptions topics)
    {
        if (!topics.Enabled)
        {
            return ManagementError.NotFound("Topics are not enabled on this gateway.");
        }

        return TopicName.IsValidPattern(topic, topics.MaxTopicLength)
            ? null
            : ManagementError.BadRequest($"Invalid topic: dot-separated segments, with * for one segment and > (last) for the rest, at most {topics.MaxTopicLength} characters.");
    }

    private static ManagementError Error(string id, ServerTopicResult result, TopicsOptions topics) => result switch
    {
        ServerTopicResult.LimitExceeded => new(StatusCodes.Status429TooManyRequests, ManagementErrors.LimitExceeded,
            $"Connection {id} holds {topics.MaxSubscriptionsPerConnection} subscriptions, the most a connection may hold."),
        ServerTopicResult.Unavailable => ManagementError.Of(id, SendResult.Unavailable),
        _ => ManagementError.Of(id, SendResult.Gone),
    };

    /// <summary>
    /// Reads <c>?for=</c>: absent is null; otherwise a positive duration of at most
    /// <see cref="ServerSubscriptions.MaxRemembered"/>, as <c>hh:mm:ss</c> (<c>[d.]hh:mm:ss[.fffffff]</c>) or ISO 8601 (<c>PT10M</c>).
    /// </summary>
    private static bool TryReadFor(HttpContext context, out TimeSpan? remember, [NotNullWhen(false)] out ManagementError? error)
    {
        remember = null;
        error = null;
        if (!context.Request.Query.TryGetValue("for", out var values))
        {
            return true;
        }

        var text = values.ToString().Trim();
        TimeSpan duration;
        try
        {
            if (text.StartsWith('P') || text.StartsWith("-P", StringComparison.Ordinal))
            {
                duration = XmlConvert.ToTimeSpan(text);
            }
            else if (!TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out duration))
            {
                duration = TimeSpan.Zero;
            }
        }
        catch (FormatException)
        {
            duration = TimeSpan.Zero;
        }
        catch (OverflowException)
        {
            duration = TimeSpan.MaxValue;
        }

        if (duration <= TimeSpan.Zero || duration > ServerSubscriptions.MaxRemembered)
        {
            error = ManagementError.BadRequest("for must be a duration above zero and at most 24 hours: 00:10:00 or PT10M.");
            return false;
        }

        remember = duration;
        return true;
    }
}
