using DistillGuard.Storage;
using DistillGuard.Storage.Usage;
using DistillGuard.Usage;

namespace DistillGuard.Gateway.Tests.Infrastructure;

/// <summary>Reads a stopped gateway's usage log straight from its data directory.</summary>
internal static class UsageLogReader
{
    public static async Task<List<UsageEvent>> ReadAllAsync(string dataDirectory)
    {
        await using var storage = SqliteStorage.Open(dataDirectory, new StorageOptions(), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var events = new List<UsageEvent>();
        await foreach (var e in storage.UsageEvents.ReadAsync(new UsageQuery(), CancellationToken.None))
        {
            events.Add(e);
        }

        return events;
    }
}
