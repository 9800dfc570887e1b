using DistillGuard.Detection.Calibration;
using DistillGuard.Detection.Engine;
using DistillGuard.Detection.Scoring;
using DistillGuard.Lab.Simulation;

namespace DistillGuard.Lab.Evaluation;

/// <summary>Fits a detection calibration on simulated legitimate traffic (the shipped default and the evaluation's training half).</summary>
public static class SimulatedCalibration
{
    /// <summary>Snapshot cadence of replays: hourly, the finest window the engine keeps (replays also snapshot at request-count milestones).</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromHours(1);

    /// <summary>
    /// Simulates legitimate-only traffic for each seed and fits references and thresholds on it. Licensed
    /// (authorised) distillation customers are left out: they are handled by contract (allowlist), and putting their
    /// traffic into "normal" would blind the detector to the very pattern it exists to see.
    /// </summary>
    /// <param name="extension">Makes the features computed outside the engine (sentence embeddings) for each seed's replay; null: none.</param>
    public static (DetectionCalibration Calibration, CalibrationBuilder Builder) Fit(IReadOnlyList<int> seeds, Func<int, ScenarioOptions> scenario, Action<string>? progress = null, Func<IFeatureExtension>? extension = null)
    {
        var builder = new CalibrationBuilder();
        DateTimeOffset? origin = null;
        foreach (var seed in seeds)
        {
            var options = scenario(seed);
            options.IncludeAttackers = false;
            origin ??= options.Start;
            var accounts = TrafficSimulator.Accounts(options).ToDictionary(a => a.Id, StringComparer.Ordinal);
            var engine = new DetectionEngine(new DetectionCalibration()) { Extension = extension?.Invoke() };
            var events = TrafficSimulator.Generate(options).Where(e => !e.Authorised).Select(e => e.Event);
            var snapshots = 0;
            foreach (var snapshot in TrafficReplay.Snapshots(engine, events, Tick, id => Profile(accounts, id)))
            {
                // Seeds reuse account ids: keep each seed's accounts apart, and count weeks from each seed's own start.
                builder.Add(snapshot with { AccountId = $"s{seed}/{snapshot.AccountId}", Time = snapshot.Time - (options.Start - origin.Value) }, accounts.GetValueOrDefault(snapshot.AccountId)?.Archetype);
                snapshots++;
            }

            progress?.Invoke($"calibration seed {seed}: {accounts.Count} accounts, {snapshots:N0} snapshots");
        }

        var calibration = builder.Build(
            $"simulated legitimate traffic (authorised distillation excluded), seeds {string.Join(',', seeds)}",
            origin ?? DateTimeOffset.UnixEpoch,
            origin ?? DateTimeOffset.UnixEpoch);
        return (calibration, builder);
    }

    internal static AccountProfile? Profile(Dictionary<string, SimulatedAccount> accounts, string id) =>
        accounts.TryGetValue(id, out var account) ? new AccountProfile(account.Tier, account.Verified) : null;
}
