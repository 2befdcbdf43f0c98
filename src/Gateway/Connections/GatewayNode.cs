using Gateway.Configuration;
using Microsoft.Extensions.Options;

namespace Gateway.Connections;

/// <summary>This node's identity, and the minting of connection ids that name it.</summary>
public sealed class GatewayNode
{
    private int _sequence;

    /// <summary>Creates the node identity from configuration (a fixed id) or a fresh random one.</summary>
    public GatewayNode(IOptions<GatewayOptions> options)
    {
        var configured = options.Value.NodeId;
        Id = string.IsNullOrEmpty(configured) ? ConnectionId.MintNodeId() : configured;
    }

    /// <summary>The node id: the first 8 characters of every connection id this node mints.</summary>
    public string Id { get; }

    /// <summary>Mints a new connection id owned by this node.</summary>
    public string MintConnectionId() => ConnectionId.Mint(Id, (uint)Interlocked.Increment(ref _sequence));

    /// <summary>True when <paramref name="connectionId"/> belongs to this node.</summary>
    public bool Owns(ReadOnlySpan<char> connectionId) =>
        ConnectionId.IsWellFormed(connectionId) && ConnectionId.NodeOf(connectionId).SequenceEqual(Id);
}
