namespace Gateway.Hosting;

/// <summary>
/// The application's <c>AllowedHosts</c>, as its host filtering reads them, for handshakes taken before the web server:
/// a handshake naming another host is left to the web server, whose host filtering answers it.
/// </summary>
internal sealed class AllowedHostsFilter
{
    private readonly string[] _allowedHosts;

    /// <summary>Reads the allowed hosts; <c>*</c> among them, or none, admits every host.</summary>
    public AllowedHostsFilter(IList<string> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        _allowedHosts = hosts.Contains("*") ? [] : [.. hosts];
    }

    /// <summary>True when the application's <c>AllowedHosts</c> admits <paramref name="host"/> (or lists no hosts).</summary>
    public bool Allows(string host)
    {
        if (_allowedHosts.Length == 0)
        {
            return true;
        }

        // The host without its port: "name:port", "[v6]:port".
        var name = host.StartsWith('[') ? host[..(host.IndexOf(']', StringComparison.Ordinal) + 1)]
            : host.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? host[..colon] : host;
        foreach (var allowed in _allowedHosts)
        {
            if (allowed.StartsWith("*.", StringComparison.Ordinal)
                ? name.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase)
                : name.Equals(allowed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
