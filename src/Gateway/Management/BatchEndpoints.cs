using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Management;

/// <summary>
/// <c>POST /@batch</c>: many pushes, user sends, publishes and broadcasts in one call, <c>{"items": [item, …]}</c>,
/// answered <c>{"results": [result, …]}</c> in item order, each result what the single call would have answered.
/// Every item is checked before any is sent (one malformed item: the whole batch 400, naming it); a well-formed item
/// that fails (a gone connection) fails alone. Items to one connection go in item order; the others run concurrently,
/// at most <see cref="Concurrency"/> at a time (items to connections of other nodes go through the backplane).
/// </summary>
internal static class BatchEndpoints
{
    /// <summary>The resource.</summary>
    public const string Resource = "@batch";

    /// <summary>How many items (or connections' runs of items) are carried out at once.</summary>
    public const int Concurrency = 32;

    // ASP0022 (route conflict) is kept on purpose: the endpoint without methods is this resource's own 405/404 (why: AnyMethodFallback).
    /// <summary>Maps the resource on a group at <c>/@batch</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "ASP0022", Justification = ManagementEndpoints.AnyMethodFallback)]
    public static IEndpointRouteBuilder MapBatchEndpoints(this IEndpointRouteBuilder group)
    {
        group.MapPost("", SendAsync);
        group.MapPost("/{id}", () => ManagementError.NotFound($"{Resource} takes no id."));
        group.Map("", NotAllowed);
        group.Map("/{id}", NotAllowed);
        return group;
    }

    private static ManagementError NotAllowed(HttpContext context) => ManagementError.MethodNotAllowed(context.Request.Method, Resource, HttpMethods.Post);

    private static async Task<Results<ManagementJsonResult<BatchBody>, ManagementError>> SendAsync(
        HttpContext context, ConnectionSender sender, IGatewayPublisher publisher, IOptions<GatewayOptions> options, GatewayMetrics? metrics = null)
    {
        var gateway = options.Value;
        if (BatchReader.TryRead(ManagementBody.Of(context), gateway.Management.MaxBatchItems, gateway.Topics.MaxTopicLength, out var items, out var tooMany) is { } problem)
        {
            return tooMany
                ? new ManagementError(StatusCodes.Status413PayloadTooLarge, ManagementErrors.PayloadTooLarge, problem)
                : ManagementError.BadRequest(problem);
        }

        var results = new BatchResult[items.Count];
        var lanes = items.Where(i => i.Target == BatchTarget.Connection).GroupBy(i => i.Id, StringComparer.Ordinal).Select(g => g.ToList())
            .Concat(items.Where(i => i.Target != BatchTarget.Connection).Select(i => new List<BatchItem> { i }));
        var limit = gateway.Management.MaxPayloadBytes;
        await Parallel.ForEachAsync(lanes, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = context.RequestAborted }, async (lane, cancellationToken) =>
        {
            foreach (var item in lane)
            {
                results[item.Index] = await CarryAsync(item, limit, sender, publisher, cancellationToken);
            }
        });

        foreach (var result in results)
        {
            metrics?.BatchItem(result.Status);
        }

        return new ManagementJsonResult<BatchBody>(new BatchBody(results), ManagementJson.Default.BatchBody);
    }

    private static async Task<BatchResult> CarryAsync(BatchItem item, int limit, ConnectionSender sender, IGatewayPublisher publisher, CancellationToken cancellationToken)
    {
        if (item.Payload.Length > limit)
        {
            return Failed(ManagementError.PayloadTooLarge(limit));
        }

        var message = item.Binary ? OutboundMessage.Binary(item.Payload) : OutboundMessage.Text(item.Payload);
        try
        {
            switch (item.Target)
            {
                case BatchTarget.Connection:
                    var sent = await sender.SendAsync(item.Id, message, cancellationToken);
                    return sent == SendResult.Sent ? new BatchResult(StatusCodes.Status200OK, 1, null, null) : Failed(ManagementError.Of(item.Id, sent));
                case BatchTarget.User:
                    return Delivered(await publisher.SendToUserAsync(item.Id, message, item.Exclude, cancellationToken));
                case BatchTarget.Topic:
                    return Delivered(await publisher.PublishAsync(item.Id, item.Type, item.Payload, item.Exclude, cancellationToken));
                default:
                    return Delivered(await publisher.BroadcastAsync(message, item.Exclude, cancellationToken));
            }
        }
        catch (NotSupportedException)
        {
            return Failed(ExcludeQuery.NotWithSharedHistory());
        }
        catch (BackplaneUnavailableException ex)
        {
            return Failed(ManagementError.Unavailable("Other nodes cannot be reached right now. " + ex.Message));
        }
    }

    private static BatchResult Delivered(int delivered) => new(StatusCodes.Status200OK, delivered, null, null);

    private static BatchResult Failed(ManagementError error) => new(error.StatusCode, null, error.ErrorType, error.Message);
}
