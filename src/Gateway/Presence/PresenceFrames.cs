using System.Text.Json;
using Gateway.Backplane;
using Gateway.Protocol;

namespace Gateway.Presence;

/// <summary>The presence frames: <c>join</c>, <c>leave</c> and the <c>presence</c> answer, and a member as they write it.</summary>
public static class PresenceFrames
{
    /// <summary><c>{"type":"join"|"leave","channel":…,"member":{…}}</c>.</summary>
    public static byte[] Change(string channel, PresenceMember member, bool joined) => ClientFrames.Typed(joined ? "join" : "leave", default, w =>
    {
        w.WriteString("channel", channel);
        w.WritePropertyName("member");
        WriteMember(w, member);
    });

    /// <summary><c>{"type":"presence","channel":…,"members":[…],"count":n,"full":bool,"id":…}</c>.</summary>
    public static byte[] Answer(string channel, IReadOnlyList<PresenceMember> members, bool full, JsonElement id) => ClientFrames.Typed("presence", id, w =>
    {
        w.WriteString("channel", channel);
        w.WriteStartArray("members");
        foreach (var member in members)
        {
            WriteMember(w, member);
        }

        w.WriteEndArray();
        w.WriteNumber("count", members.Count);
        w.WriteBoolean("full", full);
    });

    /// <summary>Writes <c>{"connectionId":…,"userId":…,"info":…}</c> (<c>userId</c> and <c>info</c> null when there are none).</summary>
    public static void WriteMember(Utf8JsonWriter writer, PresenceMember member)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(member);
        writer.WriteStartObject();
        writer.WriteString("connectionId", member.ConnectionId);
        if (member.UserId is null)
        {
            writer.WriteNull("userId");
        }
        else
        {
            writer.WriteString("userId", member.UserId);
        }

        writer.WritePropertyName("info");
        if (member.Info is { Length: > 0 } info)
        {
            writer.WriteRawValue(info, skipInputValidation: false);
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteEndObject();
    }
}
