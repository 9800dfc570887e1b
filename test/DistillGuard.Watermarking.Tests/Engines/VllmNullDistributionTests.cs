using System.Globalization;
using DistillGuard.Watermarking.Engines;
using DistillGuard.Watermarking.Keys;
using Xunit.Abstractions;

namespace DistillGuard.Watermarking.Tests.Engines;

/// <summary>Under H0 (text independent of the key) the engine detector's p-values are uniform: the false-positive rate is the threshold.</summary>
/// <remarks>
/// Random tokens and lengths from a SplitMix64 counter, a fresh vLLM key per text. <c>DG_VLLM_NULL_TEXTS</c> raises
/// the count (default 20,000, a few seconds) for the figures in docs/watermark.md.
/// </remarks>
public sealed class VllmNullDistributionTests(ITestOutputHelper output)
{
    private static int Texts => int.TryParse(Environment.GetEnvironmentVariable("DG_VLLM_NULL_TEXTS"), CultureInfo.InvariantCulture, out var n) ? n : 20_000;

    [Theory]
    [InlineData(null)]
    [InlineData(0.1)]
    [InlineData(0.5)]
    public void PValues_OnRandomTokens_AreUniform_FalsePositivesAtTheThreshold(double? alpha)
    {
        var texts = Texts;
        ulong counter = alpha is null ? 1u : (ulong)(alpha * 1000);
        ulong Next() => WatermarkKey.Mix(counter += 0x9E3779B97F4A7C15UL);
        var pValues = new double[texts];
        var tokens = new int[1000];
        for (var t = 0; t < texts; t++)
        {
            // Lengths log-uniform in 16–1,000; a small vocabulary for every fourth text, so repeated contexts are common.
            var length = (int)Math.Exp(Math.Log(16) + (WatermarkKey.ToUnit(Next()) * (Math.Log(1000) - Math.Log(16))));
            var vocabulary = t % 4 == 0 ? 30u : 151_936u;
            for (var i = 0; i < length; i++)
            {
                tokens[i] = (int)(Next() % vocabulary);
            }

            pValues[t] = new VllmGumbelDetector(Next(), dualKeyAlpha: alpha).Score(tokens.AsSpan(0, length)).PValue;
        }

        Array.Sort(pValues);
        var d = 0.0;
        for (var i = 0; i < texts; i++)
        {
            d = Math.Max(d, Math.Max(Math.Abs(pValues[i] - (i / (double)texts)), Math.Abs(pValues[i] - ((i + 1) / (double)texts))));
        }

        output.WriteLine($"scheme {(alpha is null ? "gumbel" : $"dual_key_gumbel α {alpha}")}, {texts:N0} texts, KS D {d:F4} (critical at 0.001: {1.95 / Math.Sqrt(texts):F4})");
        foreach (var threshold in new[] { 1e-2, 1e-3, 1e-4 })
        {
            var positives = pValues.Count(p => p < threshold);
            var (low, high) = Wilson(positives, texts);
            output.WriteLine($"  α {threshold:0e0}: {positives:N0} of {texts:N0}, FPR {positives / (double)texts:F5} [{low:F5}, {high:F5}]");
        }

        // KS critical value at α = 0.001: 1.95 / √n. For α 0.1 the Gamma(n / v, v) law is vLLM's moment-matched
        // approximation, so this checks that the approximation is close at these lengths, not that it is exact.
        Assert.True(d < 1.95 / Math.Sqrt(texts), $"KS D = {d:F4}");
    }

    private static (double Low, double High) Wilson(int successes, int n)
    {
        const double Z = 1.959964;
        var p = successes / (double)n;
        var centre = (p + (Z * Z / (2 * n))) / (1 + (Z * Z / n));
        var half = Z * Math.Sqrt((p * (1 - p) / n) + (Z * Z / (4.0 * n * n))) / (1 + (Z * Z / n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
