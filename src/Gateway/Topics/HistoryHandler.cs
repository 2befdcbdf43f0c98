using System.Text.Json;
using Gateway.Configuration;
using Gateway.Protocol;
using Gateway.Routing;
using Microsoft.Extensions.Options;

namespace Gateway.Topics;

/// <summary>
/// The built-in <c>history</c> command: <c>{"action":"history","channel":…,"since":{"offset","epoch"}?,"limit"?,"id"?}</c>,
/// authorized like a subscribe, answered <c>{"type":"history","channel","epoch","offset","recovered"?,"events":[…],"complete","id"}</c>
/// (the events as they were sent live, oldest first, at most <c>limit</c>, 100 by default and at most 1,000), or an
/// error frame: <c>invalid_request</c>, <c>unauthorized</c>, <c>not_found</c> (the topic keeps no history),
/// <c>internal_error</c>.
/// </summary>
public sealed class HistoryHandler(IOptions<GatewayOptions> options, TopicAuthorizer authorizer, TopicHistoryReader histories) : IGatewayRouteHandler
{
    /// <summary>Events a history answer holds when the command names no limit.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The most events one history answer holds.</summary>
    public const int MaxLimit = 1000;

    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var command = TopicCommand.Parse(context.Body);
        var limit = LimitOf(context.Body);
        if (!command.Valid || limit is null)
        {
            return Error("invalid_request", $"a history command is a JSON object; since is {{\"offset\": n, \"epoch\": \"...\"}}; limit is 1 to {MaxLimit}", command);
        }

        if (command.Channel is not { } channel || !TopicName.IsValidName(channel, options.Value.Topics.MaxTopicLength))
        {
            return Error("invalid_request", "history needs the channel of one topic (no wildcards)", command);
        }

        switch (await authorizer.AuthorizeAsync(context.Connection, channel, context.ConnectionClosed))
        {
            case TopicDecision.Denied:
                return Error("unauthorized", "this connection may not read " + channel, command);
            case TopicDecision.Failed:
                return Error("internal_error", "the read could not be authorized", command);
        }

        TopicHistoryPage? page;
        try
        {
            page = await histories.ReadAsync(channel, command.Since, limit.Value, context.ConnectionClosed);
        }
        catch (Backplane.BackplaneUnavailableException)
        {
            return Error("internal_error", "the topic's history cannot be read right now", command);
        }

        return page is null
            ? Error("not_found", channel + " keeps no history", command)
            : RouteResult.Reply(ClientFrames.Typed("history", command.Id, w => TopicHistoryJson.Write(w, channel, page)));
    }

    /// <summary>The command's limit: the default when it names none, null when it is not a number from 1 to <see cref="MaxLimit"/>.</summary>
    private static int? LimitOf(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("limit", out var limit))
            {
                return DefaultLimit;
            }

            return limit.ValueKind == JsonValueKind.Number && limit.TryGetInt32(out var n) && n is >= 1 and <= MaxLimit ? n : null;
        }
        catch (JsonException)
        {
            return DefaultLimit;
        }
    }

    private static RouteResult Error(string code, string message, TopicCommand command) =>
        RouteResult.Reply(ClientFrames.Error(code, message, command.Id));
}
