using System.Text.Json;
using System.Text.Json.Serialization;

namespace DistillGuard.Detection.Scoring;

/// <summary>The benign reference: per-detector distributions by cohort and evidence band, the combination, and the thresholds.</summary>
/// <remarks>Serialisable to JSON; immutable once built, so one instance is shared by readers without locks.</remarks>
public sealed class DetectionCalibration
{
    /// <summary>Fewest reference values a (cohort, band) distribution needs before it is used instead of a broader one.</summary>
    public const int MinReference = 50;

    /// <summary>Name of the shipped default calibration resource and of a provider's calibration file in the data directory.</summary>
    public const string FileName = "detection-calibration.json";

    public int Version { get; init; } = 1;

    /// <summary>Where the reference came from (e.g. "simulated benign traffic, seeds 1,2,3" or a data directory).</summary>
    public string Source { get; init; } = "";

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Benign account snapshots behind the references, and account-weeks behind the thresholds.</summary>
    public int ReferenceSnapshots { get; init; }

    public EvidenceCombination Combination { get; init; } = new();

    /// <summary>Key <c>code|cohort|band</c> → reference.</summary>
    public Dictionary<string, ReferenceDistribution> References { get; init; } = [];

    /// <summary>Cohort (or <see cref="Cohorts.All"/>) → thresholds.</summary>
    public Dictionary<string, RiskThresholds> Thresholds { get; init; } = [];

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Cohort, string Band), ReferenceDistribution?[]> _resolved = new();

    /// <summary>The references of every detector for a cohort and band (index: <see cref="DetectorKind"/>), resolved once and cached.</summary>
    public ReferenceDistribution?[] ReferencesFor(string cohort, string band) =>
        _resolved.GetOrAdd((cohort, band), static (key, self) => [.. Detector.All.Select(d => self.Reference(d, key.Cohort, key.Band))], this);

    /// <summary>The reference for a detector in a cohort and evidence band, falling back to broader ones.</summary>
    public ReferenceDistribution? Reference(Detector detector, string cohort, string band)
    {
        var exactBand = detector.ByEvidence ? band : Cohorts.AnyBand;
        return Find(detector.Code, cohort, exactBand) ?? Find(detector.Code, Cohorts.All, exactBand)
            ?? Find(detector.Code, cohort, Cohorts.AnyBand) ?? Find(detector.Code, Cohorts.All, Cohorts.AnyBand);
    }

    /// <summary>The thresholds for a cohort, never below the pooled ones; the pooled ones when the cohort has too few account-weeks.</summary>
    /// <remarks>
    /// A cohort's own fit exists to give cohorts with heavier benign use (verified researchers, enterprises) more room,
    /// not less. Its 1e-3 budget is spent on the cohort as a whole, so a minority inside it (a dozen eval researchers
    /// among a thousand enterprise batch jobs) would pay most of that budget if the cohort's fit fell below the pooled one.
    /// </remarks>
    public RiskThresholds ThresholdsFor(string cohort)
    {
        var pooled = Thresholds.TryGetValue(Cohorts.All, out var all) ? all : null;
        if (Thresholds.TryGetValue(cohort, out var own) && own.Units >= 1000)
        {
            return pooled is null ? own : own with { Review = Math.Max(own.Review, pooled.Review), Friction = Math.Max(own.Friction, pooled.Friction) };
        }

        return pooled ?? new RiskThresholds(double.PositiveInfinity, double.PositiveInfinity, 0, 0);
    }

    /// <summary>Reference key.</summary>
    public static string Key(string code, string cohort, string band) => $"{code}|{cohort}|{band}";

    /// <summary>Writes the calibration as indented JSON.</summary>
    public void Save(Stream stream) => JsonSerializer.Serialize(stream, this, CalibrationJsonContext.Default.DetectionCalibration);

    /// <summary>Reads a calibration written by <see cref="Save"/>.</summary>
    /// <exception cref="JsonException">The stream is not a calibration.</exception>
    public static DetectionCalibration Load(Stream stream) =>
        JsonSerializer.Deserialize(stream, CalibrationJsonContext.Default.DetectionCalibration) ?? throw new JsonException("Empty calibration.");

    /// <summary>Reads a calibration file.</summary>
    public static DetectionCalibration Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream);
    }

    /// <summary>The calibration shipped with the library (fitted on simulated benign traffic), or null when none is embedded.</summary>
    public static DetectionCalibration? LoadDefault()
    {
        using var stream = typeof(DetectionCalibration).Assembly.GetManifestResourceStream("DistillGuard.Detection." + FileName);
        return stream is null ? null : Load(stream);
    }

    private ReferenceDistribution? Find(string code, string cohort, string band) =>
        References.TryGetValue(Key(code, cohort, band), out var r) && r.Count >= MinReference ? r : null;
}

[JsonSourceGenerationOptions(WriteIndented = false, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(DetectionCalibration))]
internal sealed partial class CalibrationJsonContext : JsonSerializerContext;
