namespace Gateway.Backplane;

/// <summary>
/// What a node's liveness record says of it: space-separated tokens. <c>batches/1</c>: it reads batches on its channel
/// (<see cref="ClusterBackplane.ReadsBatches"/>); <c>link/1 host:port</c>: it takes directed calls on a direct link
/// there (<see cref="NodeLink"/>). Earlier versions hold their node id, or only <c>batches/1</c>; unknown tokens are
/// passed over, so a later version can add its own.
/// </summary>
internal static class LivenessRecord
{
    /// <summary>Whether the node reads batches.</summary>
    public static bool TakesBatches(string value) => Tokens(value).Contains(ClusterBackplane.ReadsBatches, StringComparer.Ordinal);

    /// <summary>The address of the node's link, or null when it has none.</summary>
    public static string? LinkAddress(string value)
    {
        var tokens = Tokens(value);
        var at = Array.IndexOf(tokens, NodeLink.Token);
        return at >= 0 && at + 1 < tokens.Length ? tokens[at + 1] : null;
    }

    /// <summary>The record of a node that reads batches and, with <paramref name="linkAddress"/>, takes a link there.</summary>
    public static string With(string value, string? linkAddress) => linkAddress is null ? value : $"{value} {NodeLink.Token} {linkAddress}";

    private static string[] Tokens(string value) => value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
