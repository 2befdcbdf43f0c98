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
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);

        // Any one segment before the resource is a stage, as in Amazon's https://{api}/{stage}/@connections/{id}.
        var start = segments.Length > 0 && segments[0].StartsWith('@') ? 0 : 1;
        if (segments.Length <= start || !segments[start].StartsWith('@') || segments.Length > start + 2)
        {
            return false;
        }

        request = new ManagementRequest(segments[start], segments.Length == start + 2 ? segments[start + 1] : null);
        return true;
    }
}
