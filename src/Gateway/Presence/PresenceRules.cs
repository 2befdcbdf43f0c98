using System.Text.Json;
using Gateway.Backplane;
using Gateway.Configuration;
using Gateway.Connections;
using Gateway.Protocol;
using Gateway.Routing;
using Gateway.Topics;

namespace Gateway.Presence;

/// <summary>Which topics have presence, and what a connection shows as a member of them.</summary>
public sealed class PresenceRules(PresenceOptions options)
{
    /// <summary>Whether any topic has presence.</summary>
    public bool Any => options.Rules.Count > 0;

    /// <summary>The rule of a concrete topic: the first whose pattern matches, or null when the topic has no presence.</summary>
    public PresenceRuleOptions? RuleOf(string topic)
    {
        foreach (var rule in options.Rules)
        {
            if (TopicName.Matches(rule.Pattern, topic))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>
    /// <paramref name="connection"/> as a member: its id, its user, and its <c>info</c>: what <c>$connect</c> returned
    /// for it, else an object of the claims named in <c>InfoClaims</c> it has (a claim with several values as an array),
    /// else null.
    /// </summary>
    public PresenceMember MemberOf(GatewayConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return new PresenceMember(connection.Id, connection.UserId, connection.FeatureOrNull<ConnectAnswer>()?.PresenceInfo ?? ClaimsInfo(connection));
    }

    private byte[]? ClaimsInfo(GatewayConnection connection)
    {
        if (options.InfoClaims.Count == 0 || connection.Identity is not { } identity)
        {
            return null;
        }

        using var frame = FrameJson.Start();
        var writer = frame.Json;
        writer.WriteStartObject();
        var any = false;
        foreach (var name in options.InfoClaims)
        {
            var values = identity.Principal.FindAll(name).Select(c => c.Value).ToList();
            if (values.Count == 0)
            {
                continue;
            }

            any = true;
            if (values.Count == 1)
            {
                writer.WriteString(name, values[0]);
                continue;
            }

            writer.WriteStartArray(name);
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        return any ? frame.ToArray() : null;
    }

    /// <summary>A member's info as a JSON value, for answers made with a serializer.</summary>
    public static JsonElement? InfoElement(PresenceMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (member.Info is not { Length: > 0 } info)
        {
            return null;
        }

        using var document = JsonDocument.Parse(info);
        return document.RootElement.Clone();
    }
}
