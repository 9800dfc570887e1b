using System.Security.Cryptography;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Gateway.Admin;
using DistillGuard.Gateway.Usage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistillGuard.Gateway.Detection;

/// <summary>Wires the detection engine into the gateway: observer, worker, and the admin API's risk source.</summary>
public static class DetectionServiceCollectionExtensions
{
    /// <summary>Adds detection; the calibration is the data directory's <c>detection-calibration.json</c> when present, else the shipped default.</summary>
    public static IServiceCollection AddDistillGuardDetection(this IServiceCollection services, string dataDirectory)
    {
        services.TryAddSingleton(new DetectionHostOptions());
        services.AddSingleton(sp => new DetectionEngine(
            LoadCalibration(sp.GetRequiredService<DetectionHostOptions>(), dataDirectory, sp.GetRequiredService<ILoggerFactory>().CreateLogger<DetectionWorker>()),
            // Per-process secret key for repeat detection: engine state lives in memory only, so it need not survive a restart.
            new DetectionOptions { RequestHashSeed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) }));
        services.AddSingleton<DetectionObserver>();
        services.AddSingleton<DetectionWarmStart>();
        services.AddSingleton<AccountMilestones>();
        services.AddSingleton<IUsageObserver>(sp => sp.GetRequiredService<DetectionObserver>());
        services.AddSingleton<DetectionWorker>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<DetectionWorker>());
        services.AddSingleton<IAccountRiskSource, EngineRiskSource>();
        return services;
    }

    /// <summary>The provider's calibration if there is a readable one, else the shipped default, else an empty one (nothing flagged).</summary>
    internal static DetectionCalibration LoadCalibration(DetectionHostOptions options, string dataDirectory, ILogger logger)
    {
        var path = options.CalibrationPath ?? Path.Combine(dataDirectory, DetectionCalibration.FileName);
        DetectionCalibration? calibration = null;
        var source = path;
        if (File.Exists(path))
        {
            try
            {
                calibration = DetectionCalibration.Load(path);
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
            {
                DetectionLog.CalibrationUnreadable(logger, path, e);
            }
        }

        if (calibration is null)
        {
            calibration = DetectionCalibration.LoadDefault();
            source = "the shipped default";
        }

        if (calibration is null)
        {
            DetectionLog.NoCalibration(logger);
            return new DetectionCalibration();
        }

        var all = calibration.ThresholdsFor(Cohorts.All);
        DetectionLog.CalibrationLoaded(logger, source, calibration.References.Count, all.Review, all.Friction);
        return calibration;
    }
}
