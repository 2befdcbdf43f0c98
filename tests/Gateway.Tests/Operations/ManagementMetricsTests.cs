using Gateway.Tests.Infrastructure;
using static Gateway.Tests.Management.ManagementCalls;

namespace Gateway.Tests.Operations;

/// <summary>The management API's own series: batch items by status, idempotent repeats. Alone, so no other host's meters add in.</summary>
[Collection(SerialProcesses.Name)]
public sealed class ManagementMetricsTests
{
    [Fact]
    public async Task Batch_items_are_counted_by_status_and_repeats_of_an_idempotency_key_are_counted()
    {
        await using var host = await GatewayHost.StartAsync();
        await using var client = await host.ConnectAsync();
        var gone = client.Id[..^1] + (client.Id[^1] == 'A' ? 'B' : 'A');
        var batch = $$"""{"items":[{"connectionId":"{{client.Id}}","body":"a"},{"connectionId":"{{client.Id}}","body":"b"},{"connectionId":"{{gone}}","body":"c"}]}""";
        await PostAsync(host, "/@batch", batch, idempotencyKey: "k");
        await PostAsync(host, "/@batch", batch, idempotencyKey: "k");
        await PostAsync(host, "/@batch", batch, idempotencyKey: "k");

        using var http = new HttpClient();
        var scrape = await http.GetStringAsync(new Uri($"http://127.0.0.1:{host.ManagementEndPoint.Port}/metrics"));
        Assert.Contains("gateway_management_batch_items_total{otel_scope_name=\"Gateway\",status=\"200\"} 2\n", scrape, StringComparison.Ordinal);
        Assert.Contains("gateway_management_batch_items_total{otel_scope_name=\"Gateway\",status=\"410\"} 1\n", scrape, StringComparison.Ordinal);
        Assert.Contains("gateway_management_idempotent_repeats_total{otel_scope_name=\"Gateway\"} 2\n", scrape, StringComparison.Ordinal);
    }
}
