using System.Net;
using Microsoft.AspNetCore.Http;

namespace Gateway.Connections;

/// <summary>
/// The client's address: the peer's, or, when the peer is a trusted proxy, the right-most address in
/// <c>X-Forwarded-For</c> that is not itself a trusted proxy.
/// </summary>
public sealed class ClientAddress
{
    private readonly IPNetwork[] _trusted;

    /// <summary>Creates the resolver from trusted proxy addresses or CIDR ranges (validated at start).</summary>
    public ClientAddress(IEnumerable<string> trustedProxies)
    {
        _trusted = [.. trustedProxies.Select(ParseNetwork)];
    }

    /// <summary>Parses an address or CIDR range; throws <see cref="FormatException"/> when it is neither.</summary>
    public static IPNetwork ParseNetwork(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Contains('/', StringComparison.Ordinal))
        {
            return IPNetwork.Parse(text);
        }

        var address = Normalize(IPAddress.Parse(text));
        return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    /// <summary>The client address of a request.</summary>
    public string Resolve(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var peer = context.Connection.RemoteIpAddress is { } remote ? Normalize(remote) : IPAddress.None;
        if (_trusted.Length == 0 || !IsTrusted(peer))
        {
            return peer.ToString();
        }

        var forwarded = context.Request.Headers["X-Forwarded-For"];
        var hops = string.Join(',', forwarded.ToArray()).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = hops.Length - 1; i >= 0; i--)
        {
            if (!IPAddress.TryParse(hops[i], out var hop))
            {
                break;
            }

            hop = Normalize(hop);
            if (!IsTrusted(hop) || i == 0)
            {
                return hop.ToString();
            }
        }

        return peer.ToString();
    }

    private bool IsTrusted(IPAddress address)
    {
        foreach (var network in _trusted)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
