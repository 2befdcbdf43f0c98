using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Infrastructure;

/// <summary>A logger for one category that keeps every event, to assert on what was logged and how.</summary>
public sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<(LogLevel Level, EventId EventId, string Message)> _events = new();

    public IReadOnlyCollection<(LogLevel Level, EventId EventId, string Message)> Events => _events;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _events.Enqueue((logLevel, eventId, formatter(state, exception)));

    /// <summary>The events with <paramref name="id"/> logged so far.</summary>
    public IReadOnlyList<string> Of(int id) => [.. _events.Where(e => e.EventId.Id == id).Select(e => e.Message)];
}
