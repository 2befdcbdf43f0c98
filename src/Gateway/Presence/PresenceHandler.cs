using Gateway.Configuration;
using Gateway.Protocol;
using Gateway.Routing;
using Gateway.Topics;
using Microsoft.Extensions.Options;

namespace Gateway.Presence;

/// <summary>
/// The built-in <c>presence</c> command, <c>{"action":"presence","channel":…,"id":…}</c>, authorized like a subscribe:
/// answers <c>{"type":"presence","channel":…,"members":[{"connectionId","userId","info"}…],"count":n,"full":bool,"id":…}</c>
/// with every node's members, or an error frame: <c>invalid_request</c> (no channel, a pattern, or a topic without
/// presence), <c>unauthorized</c>, <c>internal_error</c> (the subscribe authorizer failed).
/// </summary>
public sealed class PresenceHandler(IOptions<GatewayOptions> options, PresenceTracker presence, TopicAuthorizer authorizer) : IGatewayRouteHandler
{
    private readonly int _maxTopicLength = options.Value.Topics.MaxTopicLength;

    /// <inheritdoc />
    public async ValueTask<RouteResult> HandleAsync(GatewayRouteContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var command = TopicCommand.Parse(context.Body);
        if (!command.Valid || command.Channel is not { Length: > 0 } channel)
        {
            return Error("invalid_request", "presence needs a channel", command);
        }

        if (!TopicName.IsValidName(channel, _maxTopicLength))
        {
            return Error("invalid_request", $"presence is asked of a topic: dot-separated segments without wildcards, at most {_maxTopicLength} characters", command);
        }

        switch (await authorizer.AuthorizeAsync(context.Connection, channel, context.ConnectionClosed))
        {
            case TopicDecision.Denied:
                return Error("unauthorized", "this connection may not subscribe to " + channel, command);
            case TopicDecision.Failed:
                return Error("internal_error", "the request could not be authorized", command);
        }

        if (presence.MembersOf(channel) is not { } members)
        {
            return Error("invalid_request", channel + " keeps no presence (Topics:Presence names the topics that do)", command);
        }

        return RouteResult.Reply(PresenceFrames.Answer(channel, members.Members, members.Full, command.Id));
    }

    private static RouteResult Error(string code, string message, TopicCommand command) =>
        RouteResult.Reply(ClientFrames.Error(code, message, command.Id));
}
