using Gateway.Backplane;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Backplane;

/// <summary>The pending-request table: one sweep on the injected clock fails what is overdue, and only that.</summary>
public sealed class PendingRequestsTests
{
    [Fact]
    public async Task One_sweep_on_the_injected_clock_fails_the_overdue_requests_only()
    {
        var time = new FakeTimeProvider();
        using var pending = new PendingRequests(time);
        pending.Start(TimeSpan.FromSeconds(1));
        var (_, soon) = pending.Add(TimeSpan.FromSeconds(1));
        var (_, later) = pending.Add(TimeSpan.FromSeconds(5));
        var (unlimited, waiting) = pending.Add(TimeSpan.FromMilliseconds(-1));

        time.Advance(TimeSpan.FromMilliseconds(1100));
        await Assert.ThrowsAsync<TimeoutException>(() => soon.Task.WithTimeout());
        Assert.False(later.Task.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(4));
        await Assert.ThrowsAsync<TimeoutException>(() => later.Task.WithTimeout());

        // Without a limit it waits for its answer, however long.
        time.Advance(TimeSpan.FromHours(1));
        Assert.True(pending.TryTake(unlimited, out var taken));
        Assert.Same(waiting, taken);
    }
}
