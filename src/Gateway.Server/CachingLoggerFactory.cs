using System.Collections.Concurrent;

namespace Gateway.Server;

/// <summary>
/// Serilog's logger factory, with each category's logger made once. Serilog's own factory builds a new logger (and
/// the caches each logger keeps) on every <c>CreateLogger</c> call, and ASP.NET Core's results ask for one on every
/// request they answer: without this, a push allocated about 800 bytes for loggers it then threw away. A logger
/// holds no state of its own beyond the category, so the one made first serves every later call.
/// <para>
/// Two of ASP.NET Core's categories are wrapped (<see cref="QuietDiagnosticsLogger"/>): while they log below
/// <c>Information</c>, hosting makes no activity and no scope for each request and Kestrel no scope for each connection.
/// </para>
/// </summary>
/// <param name="inner">The factory that makes the loggers; disposed with this one.</param>
internal sealed class CachingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (name, factory) => QuietDiagnosticsLogger.For(name) is { } quiet
            ? new QuietDiagnosticsLogger(factory.CreateLogger(name), quiet)
            : factory.CreateLogger(name), inner);

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider)
    {
        inner.AddProvider(provider);

        // Loggers made before a provider was added would not write to it.
        _loggers.Clear();
    }

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();

    /// <summary>Wraps the <see cref="ILoggerFactory"/> registered last in <paramref name="services"/> in a caching one.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("No ILoggerFactory is registered to cache the loggers of.");
        services.Remove(registered);
        services.AddSingleton<ILoggerFactory>(provider => new CachingLoggerFactory(registered switch
        {
            { ImplementationInstance: ILoggerFactory instance } => instance,
            { ImplementationFactory: { } factory } => (ILoggerFactory)factory(provider),
            { ImplementationType: { } type } => (ILoggerFactory)ActivatorUtilities.CreateInstance(provider, type),
            _ => throw new InvalidOperationException("The registered ILoggerFactory cannot be made."),
        }));
    }
}
