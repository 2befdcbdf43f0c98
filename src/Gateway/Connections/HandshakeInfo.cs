using Microsoft.AspNetCore.Http;

namespace Gateway.Connections;

/// <summary>What the client's opening handshake said: where it came from and what it sent.</summary>
/// <param name="SourceIp">The client address (from <c>X-Forwarded-For</c> when the peer is a trusted proxy).</param>
/// <param name="UserAgent">The <c>User-Agent</c> header, or null when none was sent.</param>
/// <param name="Stage">The stage in the path the client connected to, or null for <c>/</c>.</param>
/// <param name="Headers">The handshake's request headers.</param>
/// <param name="Query">The handshake's query string parameters.</param>
public sealed record HandshakeInfo(string SourceIp, string? UserAgent, string? Stage, IHeaderDictionary Headers, IQueryCollection Query)
{
    /// <summary>The HTTP protocol of the handshake: <c>HTTP/1.1</c> for an upgrade, <c>HTTP/2</c> for an extended CONNECT stream (RFC 8441).</summary>
    public string Protocol { get; init; } = "HTTP/1.1";
}
