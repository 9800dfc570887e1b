using DistillGuard.Usage;

namespace DistillGuard.Detection.Engine;

/// <summary>
/// Features computed outside the engine (sentence-embedding evidence, <c>DistillGuard.Semantics</c>), folded into the
/// same per-account values, references and combination as the engine's own: a deliberate extension point, so that the
/// gateway and every offline replay score one set of detectors.
/// </summary>
public interface IFeatureExtension
{
    /// <summary>Sees every event the engine counts (<see cref="DetectionEngine.Counts"/>), after the engine has folded it in.</summary>
    void Observe(UsageEvent usageEvent);

    /// <summary>Writes the extension's feature values for the account at <paramref name="now"/> into <paramref name="values"/> (indexed by detector kind); leaves NaN where it has too little to say.</summary>
    void Fill(string accountId, DateTimeOffset now, double[] values);

    /// <summary>Bytes of state the extension holds for the account (counted in the per-account budget).</summary>
    int StateBytes(string accountId);

    /// <summary>Drops the account's state (the engine has evicted it as idle).</summary>
    void Forget(string accountId);
}
