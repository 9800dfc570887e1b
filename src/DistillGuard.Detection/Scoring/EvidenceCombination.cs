namespace DistillGuard.Detection.Scoring;

/// <summary>Turns per-detector p-values into one additive evidence score whose terms are the reason codes.</summary>
/// <remarks>
/// Each detector's term is w_d · max(0, ln(τ / p_d)), capped: a truncated-product combination (Zaykin et al. 2002) so that
/// unremarkable detectors (p ≥ τ) add nothing and one broken detector cannot dominate (research notes §5.5). Detectors
/// that measure the same thing (four volume measures, two timing measures, …) are strongly dependent, so only the
/// largest term of each group is added: S = Σ_groups max_{d ∈ group} term_d, a calibrated max within groups and a sum
/// across them. S is never read through a χ² table: its thresholds come from held-out benign accounts.
/// </remarks>
public sealed class EvidenceCombination
{
    /// <summary>p-values at or above τ carry no evidence.</summary>
    public double Tau { get; init; } = 0.1;

    /// <summary>Largest contribution of one detector (nats); 12 ≈ p of 6e-7 (research notes §5.5).</summary>
    public double Cap { get; init; } = 12;

    /// <summary>Non-negative weight per detector code; missing codes weigh 1.</summary>
    public Dictionary<string, double> Weights { get; init; } = [];

    /// <summary>The weight of one detector.</summary>
    public double Weight(Detector detector) => Weights.TryGetValue(detector.Code, out var w) ? Math.Max(0, w) : 1;

    /// <summary>The combined evidence of per-detector p-values (indexed by <see cref="DetectorKind"/>).</summary>
    public double Combine(ReadOnlySpan<double> pValues)
    {
        Span<double> groups = stackalloc double[Detector.Groups.Count];
        groups.Clear();
        for (var i = 0; i < pValues.Length; i++)
        {
            var detector = Detector.All[i];
            var g = detector.GroupIndex;
            groups[g] = Math.Max(groups[g], Term(detector, pValues[i]));
        }

        var total = 0.0;
        foreach (var g in groups)
        {
            total += g;
        }

        return total;
    }

    /// <summary>One detector's term.</summary>
    public double Term(Detector detector, double pValue) =>
        pValue >= Tau || double.IsNaN(pValue) ? 0 : Weight(detector) * Math.Min(Cap, Math.Log(Tau / Math.Max(pValue, 1e-300)));
}
