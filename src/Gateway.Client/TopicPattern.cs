namespace Gateway.Client;

/// <summary>Whether a topic matches a subscription: <c>*</c> is one segment, a last <c>&gt;</c> one or more.</summary>
internal static class TopicPattern
{
    public static bool IsPattern(string channel) => channel.Contains('*', StringComparison.Ordinal) || channel.EndsWith('>');

    public static bool Matches(string pattern, string topic)
    {
        if (!IsPattern(pattern))
        {
            return string.Equals(pattern, topic, StringComparison.Ordinal);
        }

        var p = pattern.Split('.');
        var t = topic.Split('.');
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] == ">" && i == p.Length - 1)
            {
                return t.Length > i;
            }

            if (i >= t.Length || (p[i] != "*" && !string.Equals(p[i], t[i], StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return p.Length == t.Length;
    }
}
