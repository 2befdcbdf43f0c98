using Gateway.Connections;
using Microsoft.AspNetCore.Http;

namespace Gateway.Management;

/// <summary>
/// <c>?exclude=id1,id2</c> on <c>POST /@topics/{topic}</c>, <c>/@users/{userId}</c> and <c>/@broadcast</c>: connections
/// (on any node) that do not receive the message. The parameter may be given more than once.
/// </summary>
internal static class ExcludeQuery
{
    /// <summary>The most connections one call may exclude.</summary>
    public const int MaxIds = 1000;

    /// <summary>Reads the excluded ids; an error when one is not a connection id or there are too many.</summary>
    public static ManagementError? TryRead(HttpContext context, out IReadOnlySet<string> exclude)
    {
        ArgumentNullException.ThrowIfNull(context);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        exclude = ids;
        foreach (var value in context.Request.Query["exclude"])
        {
            foreach (var id in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (Check(id) is { } problem)
                {
                    return ManagementError.BadRequest(problem);
                }

                ids.Add(id);
            }
        }

        return ids.Count > MaxIds ? ManagementError.BadRequest($"Invalid exclude: at most {MaxIds} connection ids.") : null;
    }

    /// <summary>What is wrong with an excluded id, or null.</summary>
    public static string? Check(string id) =>
        ConnectionId.IsWellFormed(id) ? null : $"Invalid exclude: '{(id.Length > 64 ? id[..64] + "…" : id)}' is not a connection id.";

    /// <summary>The answer for a publish that cannot exclude connections (a topic with history shared by the nodes).</summary>
    public static ManagementError NotWithSharedHistory() =>
        ManagementError.BadRequest("Invalid exclude: a topic whose history the nodes share cannot exclude connections.");
}
