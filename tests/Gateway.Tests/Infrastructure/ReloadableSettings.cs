using Microsoft.Extensions.Configuration;

namespace Gateway.Tests.Infrastructure;

/// <summary>
/// A configuration source a test changes while the host runs: <see cref="Apply"/> sets or removes keys and announces a
/// reload, as a settings file edit does.
/// </summary>
public sealed class ReloadableSettings : ConfigurationProvider, IConfigurationSource
{
    public ReloadableSettings(IDictionary<string, string?> initial)
    {
        foreach (var (key, value) in initial)
        {
            Data[key] = value;
        }
    }

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>Sets each key (a null value removes it) and reloads; the host's reload runs before this returns.</summary>
    public void Apply(IDictionary<string, string?> changes)
    {
        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                Data.Remove(key);
            }
            else
            {
                Data[key] = value;
            }
        }

        OnReload();
    }
}
