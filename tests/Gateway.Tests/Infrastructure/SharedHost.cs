namespace Gateway.Tests.Infrastructure;

/// <summary>What a test class's shared host is started with.</summary>
public interface IHostSettings
{
    /// <summary>The settings of the host.</summary>
    static abstract Dictionary<string, string?> HostSettings { get; }

    /// <summary>Whether the host runs on the real clock (by default, on a fake one the test moves).</summary>
    static virtual bool RealClock => false;
}

/// <summary>
/// One host for the cases of a test class that change nothing on it (malformed input answered 400, say), started once
/// instead of once per case: a class fixture.
/// </summary>
public sealed class SharedHost<TSettings> : IAsyncLifetime
    where TSettings : IHostSettings
{
    private GatewayHost? _host;

    /// <summary>The host, started before the class's first test.</summary>
    public GatewayHost Host => _host ?? throw new InvalidOperationException("the shared host has not started");

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync(TSettings.HostSettings, realClock: TSettings.RealClock);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
