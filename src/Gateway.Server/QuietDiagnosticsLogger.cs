namespace Gateway.Server;

/// <summary>
/// A logger of one of ASP.NET Core's categories whose scopes, and for <see cref="QuietDiagnostics.OffBelowInformation"/>
/// the category itself, exist only while the category logs at <c>Information</c>. ASP.NET Core asks whether a logger is
/// on at all (<c>Critical</c>) to decide whether to do per-request or per-connection work that only its
/// <c>Information</c> and <c>Debug</c> events use: with Serilog every category is on at <c>Critical</c>, so that work
/// was done for events that the default levels never write.
/// <list type="bullet">
/// <item>Hosting (<c>Microsoft.AspNetCore.Hosting.Diagnostics</c>, whose events are "Request starting" and "Request
/// finished") started an <see cref="System.Diagnostics.Activity"/> and pushed a log scope for every HTTP request: two
/// asynchronous-local writes, the trace headers read, an activity made and stopped on each management call.</item>
/// <item>Kestrel (<c>Microsoft.AspNetCore.Server.Kestrel</c>) pushed a scope naming its own connection id for every
/// connection, which every WebSocket then carried in its execution context for its whole life. The gateway's events
/// name the gateway's connection id themselves.</item>
/// </list>
/// The level is asked of the wrapped logger each time, so a level changed while the server runs is followed; an event
/// written without asking first still reaches the wrapped logger, which applies its own level.
/// </summary>
/// <param name="inner">The category's logger.</param>
/// <param name="quiet">What is kept back while the category's <c>Information</c> is off.</param>
internal sealed class QuietDiagnosticsLogger(ILogger inner, QuietDiagnostics quiet) : ILogger
{
    /// <summary>What each of ASP.NET Core's categories keeps back while its <c>Information</c> is off; none for other categories.</summary>
    public static QuietDiagnostics? For(string category) => category switch
    {
        "Microsoft.AspNetCore.Hosting.Diagnostics" => QuietDiagnostics.OffBelowInformation,
        "Microsoft.AspNetCore.Server.Kestrel" => QuietDiagnostics.NoScopesBelowInformation,
        _ => null,
    };

    /// <inheritdoc />
    public bool IsEnabled(LogLevel logLevel) =>
        (quiet != QuietDiagnostics.OffBelowInformation || inner.IsEnabled(LogLevel.Information)) && inner.IsEnabled(logLevel);

    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.IsEnabled(LogLevel.Information) ? inner.BeginScope(state) : null;

    /// <inheritdoc />
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        inner.Log(logLevel, eventId, state, exception, formatter);
}

/// <summary>What a <see cref="QuietDiagnosticsLogger"/> keeps back while its category's <c>Information</c> is off.</summary>
internal enum QuietDiagnostics
{
    /// <summary>Its scopes.</summary>
    NoScopesBelowInformation,

    /// <summary>Its scopes, and it answers that it is off at every level.</summary>
    OffBelowInformation,
}
