using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// The <c>limit</c> and <c>cursor</c> of a listing. A cursor is opaque to the caller: the last key of the page before
/// (a connection id, a channel) as base64url, so that pages follow a stable order while items come and go.
/// </summary>
internal static class PageRequest
{
    /// <summary>The page size when none is asked for.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The largest page.</summary>
    public const int MaxLimit = 1000;

    /// <summary>Reads <c>limit</c> (default 100, at most 1000 and at most <paramref name="max"/>); false with the problem when it is not one.</summary>
    public static bool TryLimit(IQueryCollection query, int max, out int limit, out string problem)
    {
        ArgumentNullException.ThrowIfNull(query);
        var most = Math.Min(MaxLimit, Math.Max(1, max));
        problem = "";
        limit = DefaultLimit > most ? most : DefaultLimit;
        if (!query.TryGetValue("limit", out var values))
        {
            return true;
        }

        if (values.Count == 1 && int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out var asked) && asked >= 1 && asked <= most)
        {
            limit = asked;
            return true;
        }

        problem = $"Invalid limit: it must be a whole number from 1 to {most}.";
        return false;
    }

    /// <summary>Reads <c>cursor</c>: the key the page starts after ("" for the first page); false with the problem when it is not one.</summary>
    public static bool TryCursor(IQueryCollection query, Func<string, bool> isKey, out string after, out string problem)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(isKey);
        after = "";
        problem = "";
        if (!query.TryGetValue("cursor", out var values))
        {
            return true;
        }

        if (values.Count == 1 && values[0] is { Length: > 0 } cursor && Decode(cursor) is { } key && isKey(key))
        {
            after = key;
            return true;
        }

        problem = "Invalid cursor: pass the nextCursor of the page before, as it was given.";
        return false;
    }

    /// <summary>The cursor that starts a page after <paramref name="key"/>.</summary>
    public static string Encode(string key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key));

    private static string? Decode(string cursor)
    {
        try
        {
            var bytes = Base64Url.DecodeFromChars(cursor);
            return bytes.Length > 0 && System.Text.Unicode.Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
