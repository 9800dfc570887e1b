using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Keys;

namespace DistillGuard.Watermarking.Schemes;

/// <summary>Creates the sampler hook of a scheme.</summary>
public static class WatermarkProcessors
{
    /// <summary>The processor that marks with <paramref name="key"/> and <paramref name="parameters"/> (payload bucket for the green list).</summary>
    public static ILogitsProcessor Create(WatermarkKey key, WatermarkParameters parameters, int payload = 0) => parameters.Scheme switch
    {
        WatermarkScheme.GreenList => new GreenListProcessor(key, parameters, payload),
        _ => new GumbelProcessor(key, parameters),
    };
}
