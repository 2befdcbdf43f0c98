
namespace Gateway.Hosting;

/// <summary>What <see cref="HandshakeRequestHead.TryRead"/> made of the bytes a connection has sent so far.</summary>
internal enum HeadVerdict
{
    /// <summary>More bytes are needed to decide.</summary>
    Incomplete,

    /// <summary>A WebSocket opening handshake to <c>/</c> or <c>/{Stage}</c>, in the plain form this reader takes.</summary>
    Handshake,

    /// <summary>Anything else: the web server's own HTTP handling gets the bytes, untouched.</summary>
    NotOurs,
}
