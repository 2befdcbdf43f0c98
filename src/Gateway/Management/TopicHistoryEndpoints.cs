using System.Globalization;
using Gateway.Configuration;
using Gateway.Topics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// <c>GET /@topics/{topic}/history?since=&amp;epoch=&amp;limit=</c>: a topic's history, read as a recovering subscribe
/// reads it (on every node the same epoch and offsets). Answers
/// <c>{"channel","epoch","offset","recovered"?,"events":[…],"complete"}</c>: the events after <c>since</c> (with its
/// <c>epoch</c>) when every one of them is still kept (<c>recovered: true</c>), else all that are kept
/// (<c>recovered: false</c>); oldest first, at most <c>limit</c> (100 by default, at most 1,000), <c>complete: false</c>
/// when more follow. 404 for a topic that keeps no history; 503 when a shared history cannot be read now.
/// </summary>
internal static class TopicHistoryEndpoints
{
    /// <summary>Maps the history read on the <c>/@topics</c> group.</summary>
    public static IEndpointRouteBuilder MapTopicHistoryEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapGet("/{topic}/history", ReadAsync);
        return group;
    }

    /// <summary>Maps the history read on the admin dashboard's topic group, the topic taken from the query (<c>/history?topic=</c>).</summary>
    public static IEndpointRouteBuilder MapDashboardTopicHistoryEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapGet("/history", ReadAsync);
        return group;
    }

    private static async Task<Results<HistoryResult, ManagementError>> ReadAsync(string topic, HttpContext context, TopicHistoryReader histories, IOptions<GatewayOptions> options)
    {
        var maxTopicLength = options.Value.Topics.MaxTopicLength;
        if (!TopicName.IsValidName(topic, maxTopicLength))
        {
            return ManagementError.BadRequest($"Invalid topic: a topic is dot-separated segments without wildcards, at most {maxTopicLength} characters.");
        }

        var query = context.Request.Query;
        var limit = HistoryHandler.DefaultLimit;
        if (query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > HistoryHandler.MaxLimit))
        {
            return ManagementError.BadRequest($"Invalid limit: a number from 1 to {HistoryHandler.MaxLimit}.");
        }

        RecoveryPosition? since = null;
        var hasSince = query.TryGetValue("since", out var sinceText);
        var hasEpoch = query.TryGetValue("epoch", out var epoch);
        if (hasSince != hasEpoch)
        {
            return ManagementError.BadRequest("since and epoch go together: the offset and epoch of the last event seen, as a subscribe's since.");
        }

        if (hasSince)
        {
            if (!long.TryParse(sinceText, NumberStyles.None, CultureInfo.InvariantCulture, out var offset) || string.IsNullOrEmpty(epoch))
            {
                return ManagementError.BadRequest("Invalid since: an offset (a whole number) with its epoch.");
            }

            since = new RecoveryPosition(offset, epoch.ToString());
        }

        var page = await histories.ReadAsync(topic, since, limit, context.RequestAborted);
        return page is null ? ManagementError.NotFound($"{topic} keeps no history.") : new HistoryResult(topic, page);
    }

    /// <summary>The answer, written with the client frames' writer (the events are the frames clients got).</summary>
    internal sealed class HistoryResult(string topic, TopicHistoryPage page) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            using var frame = Protocol.FrameJson.Start();
            frame.Json.WriteStartObject();
            TopicHistoryJson.Write(frame.Json, topic, page);
            frame.Json.WriteEndObject();
            httpContext.Response.ContentType = "application/json";
            return httpContext.Response.Body.WriteAsync(frame.ToArray()).AsTask();
        }
    }
}
