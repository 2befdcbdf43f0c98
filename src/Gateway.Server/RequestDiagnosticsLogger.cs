namespace Gateway.Server;

/// <summary>
/// The logger of ASP.NET Core's per-request diagnostics, on only while its <c>Information</c> level is. ASP.NET Core's
/// hosting asks this logger whether <c>Critical</c> is on to decide whether to start an
/// <see cref="System.Diagnostics.Activity"/> and push a log scope for each request; with Serilog every category is on
/// at <c>Critical</c>, so every management call paid for both (two asynchronous-local writes, the trace headers read, an
/// activity made and stopped) although the category's only events at the default levels are its <c>Information</c>
/// lines, which are off. Seen as off, a request makes neither; with the category at <c>Information</c> or below
/// (<c>Serilog:MinimumLevel:Override:Microsoft.AspNetCore.Hosting.Diagnostics</c>) it is the logger it wraps. The level
/// is asked of the wrapped logger each time, so a level changed while the server runs is followed.
/// </summary>
/// <param name="inner">The category's logger.</param>
internal sealed class RequestDiagnosticsLogger(ILogger inner) : ILogger
{
    /// <inheritdoc />
    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(LogLevel.Information) && inner.IsEnabled(logLevel);

    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => IsEnabled(LogLevel.Critical) ? inner.BeginScope(state) : null;

    /// <inheritdoc />
    /// <remarks>An event written without asking first (none of ASP.NET Core's are) still reaches the wrapped logger, which applies its own level.</remarks>
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        inner.Log(logLevel, eventId, state, exception, formatter);
}
