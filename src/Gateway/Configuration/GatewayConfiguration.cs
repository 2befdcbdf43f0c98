using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Gateway.Configuration;

/// <summary>
/// The gateway's configuration now. It starts with the options validated at start and is replaced as a whole when the
/// configuration is loaded again (a settings file changed, a reload signal) and the new values pass the same validation,
/// values of the wrong type included; new values that do not pass leave the last good ones in place and are logged with
/// every problem in one event. Parts read <see cref="Current"/> where they decide (a message, a handshake, a management
/// call), so what is connected keeps running and what comes next follows the new values.
/// </summary>
public sealed partial class GatewayConfiguration : IDisposable
{
    private readonly IOptionsFactory<GatewayOptions>? _factory;
    private readonly ILogger _logger;
    private readonly Lock _reloading = new();
    private readonly List<IDisposable> _watches = [];
    private volatile GatewayOptions _current;

    /// <summary>Creates the configuration from the start values, and watches <paramref name="sources"/> for changes.</summary>
    public GatewayConfiguration(
        IOptions<GatewayOptions> start,
        IOptionsFactory<GatewayOptions> factory,
        IEnumerable<ConfigurationReloadSource<GatewayOptions>> sources,
        ILogger<GatewayConfiguration> logger)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(sources);
        _current = start.Value;
        _factory = factory;
        _logger = logger;
        foreach (var source in sources)
        {
            _watches.Add(ChangeToken.OnChange(source.GetChangeToken, () => Reload()));
        }
    }

    /// <summary>A configuration that never changes (a library host or a test that builds its parts by hand).</summary>
    public GatewayConfiguration(GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _current = options;
        _logger = NullLogger.Instance;
    }

    /// <summary>The last good options. Never modify them: they are shared by every part until the next reload.</summary>
    public GatewayOptions Current => _current;

    /// <summary>
    /// Raised after new options replaced the old ones, on the thread that loaded them, one reload at a time; parts that
    /// build something from the options (the route table) build it again here.
    /// </summary>
    public event Action<GatewayOptions>? Changed;

    /// <summary>
    /// Binds and validates the configuration again and, when it is valid, makes it current; otherwise logs every problem
    /// in one event and keeps the current options. True when the new options were taken.
    /// </summary>
    public bool Reload()
    {
        if (_factory is null)
        {
            return false;
        }

        // One reload at a time, so that two changes close together are applied in order; nothing here awaits.
        lock (_reloading)
        {
            GatewayOptions next;
            try
            {
                next = _factory.Create(Options.DefaultName);
            }
            catch (OptionsValidationException ex)
            {
                var errors = ex.Failures.Distinct(StringComparer.Ordinal).ToList();
                Log.ReloadRefused(_logger, errors.Count, string.Join(Environment.NewLine, errors.Select(e => "  - " + e)));
                return false;
            }

            _current = next;
            foreach (var handler in Changed?.GetInvocationList() ?? [])
            {
                try
                {
                    ((Action<GatewayOptions>)handler).Invoke(next);
                }
                catch (Exception ex)
                {
                    // One part that cannot take the new values must not keep the others from them.
                    Log.PartFailed(_logger, ex, handler.Target?.GetType().Name ?? handler.Method.Name);
                }
            }

            Log.Reloaded(_logger);
            return true;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var watch in _watches)
        {
            watch.Dispose();
        }

        _watches.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1801, Level = LogLevel.Information, Message = "Configuration reloaded; new messages, handshakes and management calls use it")]
        public static partial void Reloaded(ILogger logger);

        [LoggerMessage(EventId = 1802, Level = LogLevel.Error, Message = "Configuration reload refused, the last good configuration stays in use; {Count} problems:\n{Problems}")]
        public static partial void ReloadRefused(ILogger logger, int count, string problems);

        [LoggerMessage(EventId = 1803, Level = LogLevel.Error, Message = "Configuration reloaded, but {Part} could not apply it and keeps its previous values")]
        public static partial void PartFailed(ILogger logger, Exception exception, string part);
    }
}
