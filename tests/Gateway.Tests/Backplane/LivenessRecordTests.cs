using Gateway.Backplane;

namespace Gateway.Tests.Backplane;

/// <summary>What a node's liveness record says of it, across versions, and the checks of <c>Gateway:Cluster:Link</c>.</summary>
public sealed class LivenessRecordTests
{
    [Theory]
    [InlineData("0f3a9c1e", false, null)] // the earliest versions: the node id
    [InlineData("batches/1", true, null)]
    [InlineData("batches/1 link/1 10.0.0.5:8082", true, "10.0.0.5:8082")]
    [InlineData("batches/1 link/1 [fd00::5]:8082 later/3 x", true, "[fd00::5]:8082")]
    [InlineData("batches/1 link/1", true, null)]
    public void A_record_is_read_token_by_token(string value, bool batches, string? link)
    {
        Assert.Equal(batches, LivenessRecord.TakesBatches(value));
        Assert.Equal(link, LivenessRecord.LinkAddress(value));
    }

    [Fact]
    public void A_linked_node_writes_its_address_after_what_it_reads()
    {
        var value = LivenessRecord.With(ClusterBackplane.ReadsBatches, "gateway-1:8082");
        Assert.Equal("batches/1 link/1 gateway-1:8082", value);
        Assert.Equal(ClusterBackplane.ReadsBatches, LivenessRecord.With(ClusterBackplane.ReadsBatches, null));
    }

    [Theory]
    [InlineData(null, null, null, null)]
    [InlineData("0.0.0.0:8082", null, "a-secret-of-16-chars", null)]
    [InlineData("[::]:8082", "gateway-1:8082", "a-secret-of-16-chars", null)]
    [InlineData("0.0.0.0:8082", null, null, "Gateway:Cluster:Link:Secret is required")]
    [InlineData("0.0.0.0:8082", null, "short", "16 characters or more")]
    [InlineData("localhost:8082", null, "a-secret-of-16-chars", "Gateway:Cluster:Link:Listen must be an IP address and a port")]
    [InlineData("0.0.0.0", null, "a-secret-of-16-chars", "Gateway:Cluster:Link:Listen must be an IP address and a port")]
    [InlineData("0.0.0.0:8082", "gateway-1", "a-secret-of-16-chars", "Gateway:Cluster:Link:Advertise must be a host and a port")]
    public void The_link_options_are_checked(string? listen, string? advertise, string? secret, string? problem)
    {
        var result = new NodeLinkOptionsValidator().Validate(null, new NodeLinkOptions { Listen = listen, Advertise = advertise, Secret = secret });
        if (problem is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            Assert.True(result.Failed);
            Assert.Contains(problem, result.FailureMessage, StringComparison.Ordinal);
            Assert.DoesNotContain("a-secret-of-16-chars", result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
