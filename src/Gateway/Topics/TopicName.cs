namespace Gateway.Topics;

/// <summary>
/// Topic names and subscription patterns. A name is one or more dot-separated segments
/// (<c>events.org_123.conversations.message_posted.conv_456</c>, or one segment such as <c>conversation:conv-123</c>);
/// no segment is empty, and none holds whitespace, control characters, <c>/</c>, <c>%</c>, <c>*</c> or <c>&gt;</c>. A pattern may also use
/// <c>*</c> as a whole segment (exactly one segment) and <c>&gt;</c> as its last whole segment (one or more segments).
/// </summary>
public static class TopicName
{
    /// <summary>True when <paramref name="name"/> is a concrete topic (no wildcards) within <paramref name="maxLength"/> characters.</summary>
    public static bool IsValidName(string? name, int maxLength) => Check(name, maxLength, wildcards: false);

    /// <summary>True when <paramref name="pattern"/> is a valid subscription pattern within <paramref name="maxLength"/> characters.</summary>
    public static bool IsValidPattern(string? pattern, int maxLength) => Check(pattern, maxLength, wildcards: true);

    /// <summary>True when <paramref name="pattern"/> holds a wildcard segment.</summary>
    public static bool HasWildcard(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        foreach (var segment in pattern.Split('.'))
        {
            if (segment is "*" or ">")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the concrete <paramref name="topic"/> matches <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string topic)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(topic);
        var p = pattern.Split('.');
        var t = topic.Split('.');
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] == ">")
            {
                return t.Length > i;
            }

            if (i >= t.Length || (p[i] != "*" && p[i] != t[i]))
            {
                return false;
            }
        }

        return p.Length == t.Length;
    }

    /// <summary>
    /// True when every topic <paramref name="requested"/> can match is matched by <paramref name="granted"/>, so that a
    /// client granted <c>events.org_1.&gt;</c> may subscribe to <c>events.org_1.*.message_posted</c> but not to <c>events.&gt;</c>.
    /// </summary>
    public static bool Covers(string granted, string requested)
    {
        ArgumentNullException.ThrowIfNull(granted);
        ArgumentNullException.ThrowIfNull(requested);
        var g = granted.Split('.');
        var r = requested.Split('.');
        for (var i = 0; i < g.Length; i++)
        {
            if (g[i] == ">")
            {
                return r.Length > i;
            }

            if (i >= r.Length || r[i] == ">")
            {
                return false;
            }

            if (g[i] != "*" && g[i] != r[i])
            {
                return false;
            }
        }

        return g.Length == r.Length;
    }

    /// <summary>
    /// True when some concrete topic matches both <paramref name="a"/> and <paramref name="b"/>: <c>a.*</c> and
    /// <c>a.&gt;</c> overlap (on <c>a.x</c>), <c>*.b</c> and <c>a.*</c> too (on <c>a.b</c>), <c>a.b</c> and
    /// <c>a.b.&gt;</c> do not.
    /// </summary>
    public static bool Overlaps(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var x = a.Split('.');
        var y = b.Split('.');
        for (var i = 0; ; i++)
        {
            // '>' takes one or more segments: whatever the other has from here on (a segment at least) fits it.
            if (i < x.Length && x[i] == ">")
            {
                return y.Length > i;
            }

            if (i < y.Length && y[i] == ">")
            {
                return x.Length > i;
            }

            if (i >= x.Length || i >= y.Length)
            {
                return x.Length == y.Length;
            }

            if (x[i] != "*" && y[i] != "*" && x[i] != y[i])
            {
                return false;
            }
        }
    }

    private static bool Check(string? value, int maxLength, bool wildcards)
    {
        if (string.IsNullOrEmpty(value) || value.Length > maxLength)
        {
            return false;
        }

        var segments = value.Split('.');
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0)
            {
                return false;
            }

            if (segment is "*" || (segment is ">" && i == segments.Length - 1))
            {
                if (!wildcards)
                {
                    return false;
                }

                continue;
            }

            foreach (var c in segment)
            {
                // '/' and '%' would not survive a management URL path (where %2F stays encoded) unchanged.
                if (c is '*' or '>' or '/' or '%' || char.IsWhiteSpace(c) || char.IsControl(c))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
