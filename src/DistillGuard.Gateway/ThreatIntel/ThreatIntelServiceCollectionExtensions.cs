using DistillGuard.Storage.ThreatIntel;
using DistillGuard.ThreatIntel.Signing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.ThreatIntel;

/// <summary>Wires threat-intel sharing into the gateway: keys, the intel store, the TAXII server's state and the scheduled export.</summary>
public static class ThreatIntelServiceCollectionExtensions
{
    public static IServiceCollection AddDistillGuardThreatIntel(this IServiceCollection services, string dataDirectory)
    {
        services.TryAddSingleton(new IntelHostOptions());
        services.AddSingleton(_ => ProducerKeys.LoadOrCreate(dataDirectory));
        services.AddSingleton(sp => SqliteIntelStore.Open(dataDirectory, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("DistillGuard.Storage")));
        services.AddSingleton(sp => new TaxiiCursor(System.Security.Cryptography.HMACSHA256.HashData(sp.GetRequiredService<ProducerKeys>().IdSecret, "taxii cursors"u8)));
        services.AddSingleton<TaxiiStatusLog>();
        services.AddSingleton<IntelExportWorker>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<IntelExportWorker>());
        services.AddSingleton<IntelMatchFeed>();
        services.AddSingleton<Usage.IUsageObserver>(sp => sp.GetRequiredService<IntelMatchFeed>());
        services.AddSingleton<IntelMatchWorker>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<IntelMatchWorker>());
        return services;
    }
}
