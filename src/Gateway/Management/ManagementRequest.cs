namespace Gateway.Management;

/// <summary>
/// A management path taken apart: an optional stage segment, the resource (<c>@connections</c>), and an
/// optional id. Empty segments (a doubled <c>//</c>, as SDKs produce from an endpoint with a trailing
/// slash) are ignored; the server has already decoded <c>%40</c> and percent-encoded ids.
/// </summary>
/// <param name="Resource">The resource segment, such as <c>@connections</c>.</param>
/// <param name="Id">The id after it, or null.</param>
public readonly record struct ManagementRequest(string Resource, string? Id)
{
    /// <summary>Parses a decoded request path; false when it names no management resource.</summary>
    public static bool TryParse(string? path, out ManagementRequest request)
    {
        request = default;
        if (!TryLocate(path, out var resource, out var id))
        {
            return false;
        }

        request = new ManagementRequest(path![resource], id.Start.Value == id.End.Value ? null : path[id]);
        return true;
    }

    /// <summary>
    /// Whether a decoded request path names <paramref name="resource"/> (such as <c>@batch</c>), without taking the
    /// path apart into strings: the management API asks it of every call.
    /// </summary>
    public static bool Names(string? path, string resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return TryLocate(path, out var found, out _) && path.AsSpan(found).SequenceEqual(resource);
    }

    // The resource segment and the id segment (empty when there is none) of a management path, as ranges of it.
    private static bool TryLocate(string? path, out Range resource, out Range id)
    {
        resource = default;
        id = default;
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        // A management path has at most three non-empty segments (a stage, the resource, an id): a fourth ends the look.
        Span<Range> segments = stackalloc Range[3];
        var count = 0;
        var span = path.AsSpan();
        var i = 0;
        while (i < span.Length)
        {
            if (span[i] == '/')
            {
                i++;
                continue;
            }

            var end = span[i..].IndexOf('/');
            end = end < 0 ? span.Length : i + end;
            if (count == segments.Length)
            {
                return false;
            }

            segments[count++] = new Range(i, end);
            i = end;
        }

        // Any one segment before the resource is a stage, as in Amazon's https://{api}/{stage}/@connections/{id}.
        var start = count > 0 && span[segments[0]].StartsWith('@') ? 0 : 1;
        if (count <= start || !span[segments[start]].StartsWith('@') || count > start + 2)
        {
            return false;
        }

        resource = segments[start];
        id = count == start + 2 ? segments[start + 1] : new Range(0, 0);
        return true;
    }
}
