using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Storage.Tests.Usage;

/// <summary>Keeps every log line (message and exception text) so a test can check what reached the log.</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, string Text)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception) + " " + exception));
}
