using Gateway.Configuration;
using Gateway.Connections;
using Microsoft.Extensions.Options;

namespace Gateway.Tests.Connections;

public class ConnectionIdTests
{
    [Fact]
    public void Ids_are_url_safe_unique_and_name_their_node()
    {
        var node = new GatewayNode(Options.Create(new GatewayOptions()));
        var ids = Enumerable.Range(0, 50_000).Select(_ => node.MintConnectionId()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id =>
        {
            Assert.Equal(ConnectionId.Length, id.Length);
            Assert.True(ConnectionId.IsWellFormed(id));
            Assert.Equal(Uri.EscapeDataString(id), id);
            Assert.Equal(node.Id, ConnectionId.NodeOf(id).ToString());
            Assert.True(node.Owns(id));
        });
    }

    [Fact]
    public void Nodes_started_separately_mint_disjoint_ids()
    {
        var a = new GatewayNode(Options.Create(new GatewayOptions()));
        var b = new GatewayNode(Options.Create(new GatewayOptions()));
        Assert.NotEqual(a.Id, b.Id);
        var id = a.MintConnectionId();
        Assert.False(b.Owns(id));
    }

    [Fact]
    public void A_configured_node_id_is_used()
    {
        var node = new GatewayNode(Options.Create(new GatewayOptions { NodeId = "node-001" }));
        Assert.StartsWith("node-001", node.MintConnectionId(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("abcdefghijklmnopqrs=")]
    [InlineData("abcdefghijklmnopqrs/")]
    [InlineData("abcdefghijklmnopqrst1")]
    [InlineData("../../../../etc/passw")]
    public void Malformed_ids_are_recognised(string id) => Assert.False(ConnectionId.IsWellFormed(id));
}
