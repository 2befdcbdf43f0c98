using System.Collections.Concurrent;

namespace Gateway.Server;

/// <summary>
/// Serilog's logger factory, with each category's logger made once. Serilog's own factory builds a new logger (and
/// the caches each logger keeps) on every <c>CreateLogger</c> call, and ASP.NET Core's results ask for one on every
/// request they answer: without this, a push allocated about 800 bytes for loggers it then threw away. A logger
/// holds no state of its own beyond the category, so the one made first serves every later call.
/// <para>
/// The logger of ASP.NET Core's per-request diagnostics (<see cref="RequestDiagnosticsCategory"/>) is seen as off while
/// that category's <c>Information</c> is off (<see cref="RequestDiagnosticsLogger"/>): ASP.NET Core builds an
/// <see cref="System.Diagnostics.Activity"/> and a log scope for every request whenever that logger is on at any level,
/// only so that the request's own <c>Information</c> lines could carry them.
/// </para>
/// </summary>
/// <param name="inner">The factory that makes the loggers; disposed with this one.</param>
internal sealed class CachingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>The category of ASP.NET Core's per-request events ("Request starting", "Request finished").</summary>
    public const string RequestDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) =>
        _loggers.GetOrAdd(categoryName, static (name, factory) => name == RequestDiagnosticsCategory
            ? new RequestDiagnosticsLogger(factory.CreateLogger(name))
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
