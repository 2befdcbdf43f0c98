using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Management;

/// <summary>The idempotency window and the batch limits are checked at start.</summary>
public class BatchOptionsTests
{
    [Theory]
    [InlineData("Gateway:Management:IdempotencyWindow", "00:00:00", "Gateway:Management:IdempotencyWindow 00:00:00 must be between 00:00:01 and 1.00:00:00.")]
    [InlineData("Gateway:Management:MaxBatchItems", "0", "Gateway:Management:MaxBatchItems 0 must be at least 1.")]
    [InlineData("Gateway:Management:MaxBatchBytes", "0", "Gateway:Management:MaxBatchBytes 0 must be at least 1.")]
    public async Task A_value_out_of_range_stops_the_start(string key, string value, string problem)
    {
        var thrown = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var host = await GatewayHost.StartAsync(new Dictionary<string, string?> { [key] = value });
        });
        Assert.Contains(problem, thrown.ToString(), StringComparison.Ordinal);
    }
}
