using Gateway.Backplane;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Backplane;

/// <summary>Shared keys on a node alone: kept in memory until their TTL runs out.</summary>
public sealed class InMemoryBackplaneKeysTests
{
    [Fact]
    public async Task Keys_are_set_read_only_set_when_absent_deleted_and_expire()
    {
        var time = new FakeTimeProvider();
        var backplane = new InMemoryBackplane(time);
        Assert.Null(await backplane.GetKeyAsync("k", CancellationToken.None));

        Assert.True(await backplane.SetKeyAsync("k", "one"u8.ToArray(), TimeSpan.FromMinutes(1), onlyIfAbsent: true, CancellationToken.None));
        Assert.False(await backplane.SetKeyAsync("k", "two"u8.ToArray(), TimeSpan.FromMinutes(1), onlyIfAbsent: true, CancellationToken.None));
        Assert.Equal("one"u8.ToArray(), await backplane.GetKeyAsync("k", CancellationToken.None));
        Assert.True(await backplane.SetKeyAsync("k", "two"u8.ToArray(), TimeSpan.FromMinutes(1), onlyIfAbsent: false, CancellationToken.None));
        Assert.Equal("two"u8.ToArray(), await backplane.GetKeyAsync("k", CancellationToken.None));

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(await backplane.GetKeyAsync("k", CancellationToken.None));
        Assert.True(await backplane.SetKeyAsync("k", "three"u8.ToArray(), TimeSpan.FromMinutes(1), onlyIfAbsent: true, CancellationToken.None));
        await backplane.DeleteKeyAsync("k", CancellationToken.None);
        Assert.Null(await backplane.GetKeyAsync("k", CancellationToken.None));
    }

    [Fact]
    public async Task An_expired_key_counts_as_absent_before_anyone_reads_it()
    {
        var time = new FakeTimeProvider();
        var backplane = new InMemoryBackplane(time);
        Assert.True(await backplane.SetKeyAsync("lease", "a"u8.ToArray(), TimeSpan.FromSeconds(5), onlyIfAbsent: true, CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await backplane.SetKeyAsync("lease", "b"u8.ToArray(), TimeSpan.FromSeconds(5), onlyIfAbsent: true, CancellationToken.None));
        Assert.Equal("b"u8.ToArray(), await backplane.GetKeyAsync("lease", CancellationToken.None));
    }
}
