using Gateway.Protocol;

namespace Gateway.Topics;

/// <summary>What a client is told when the server (not the client) subscribes or unsubscribes it: <c>"by":"server"</c>.</summary>
internal static class ServerTopicFrames
{
    /// <summary>The answer maker for <see cref="TopicHub.Subscribe"/>: <c>{"type":"subscribed","channel":…,"epoch":…,"offset":…,"by":"server"}</c>.</summary>
    public static Func<TopicPosition?, byte[]> Subscribed(string channel) => position => ClientFrames.Typed("subscribed", default, w =>
    {
        w.WriteString("channel", channel);
        if (position is not null)
        {
            w.WriteString("epoch", position.Epoch);
            w.WriteNumber("offset", position.Offset);
        }

        w.WriteString("by", "server");
    });

    /// <summary><c>{"type":"unsubscribed","channel":…,"by":"server"}</c>.</summary>
    public static byte[] Unsubscribed(string channel) => ClientFrames.Typed("unsubscribed", default, w =>
    {
        w.WriteString("channel", channel);
        w.WriteString("by", "server");
    });
}
