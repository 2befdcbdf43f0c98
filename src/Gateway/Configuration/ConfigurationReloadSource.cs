using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace Gateway.Configuration;

/// <summary>
/// The configuration <typeparamref name="TOptions"/> is bound from, watched for changes by <see cref="GatewayConfiguration"/>.
/// Kept apart from <c>IOptionsChangeTokenSource</c> on purpose: <c>IOptionsMonitor</c> would rebuild the options on a change
/// and throw from the change notification when they are invalid, where the gateway keeps its last good values instead.
/// </summary>
/// <typeparam name="TOptions">The options type bound from <see cref="Configuration"/>.</typeparam>
public sealed class ConfigurationReloadSource<TOptions>(IConfiguration configuration)
    where TOptions : class
{
    /// <summary>The configuration the options are bound from.</summary>
    public IConfiguration Configuration { get; } = configuration ?? throw new ArgumentNullException(nameof(configuration));

    /// <summary>A token that fires when the configuration has been loaded again (a file changed, a reload was asked for).</summary>
    public IChangeToken GetChangeToken() => Configuration.GetReloadToken();
}
