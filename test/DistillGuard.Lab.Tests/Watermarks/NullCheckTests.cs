using System.Globalization;
using System.Security.Cryptography;
using DistillGuard.Lab.Evaluation;
using DistillGuard.Lab.Watermarks;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using Xunit.Abstractions;

namespace DistillGuard.Lab.Tests.Watermarks;

/// <summary>
/// False-positive rates on random tokens, each text under a fresh key: the best-controlled H0 there is, sized by
/// <c>DG_NULL_CHECK_TEXTS</c> (default 20,000; the write-up in docs/watermark.md used 1,000,000 and 2,000,000) and
/// shifted by <c>DG_NULL_CHECK_OFFSET</c> for an independent replicate.
/// </summary>
/// <remarks>
/// Tokens and lengths come from a SplitMix64 counter, not a seeded <see cref="Random"/>: a seeded Random runs the
/// legacy subtractive generator, whose doubles made Σ −ln(1 − U) visibly non-Gamma at a million samples.
/// </remarks>
public sealed class NullCheckTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(WatermarkScheme.Gumbel)]
    [InlineData(WatermarkScheme.GreenList)]
    public void RandomTokens_FreshKeys_PValuesUniform(WatermarkScheme scheme)
    {
        var texts = int.TryParse(Environment.GetEnvironmentVariable("DG_NULL_CHECK_TEXTS"), out var t) ? t : 20_000;
        var offset = long.TryParse(Environment.GetEnvironmentVariable("DG_NULL_CHECK_OFFSET"), out var o) ? o : 0;
        var parameters = scheme == WatermarkScheme.Gumbel ? WatermarkParameters.GumbelDefaults : WatermarkParameters.GreenListDefaults;
        var pValues = new double[texts];
        Parallel.For(0, texts, i =>
        {
            var counter = WatermarkKey.Mix((ulong)(i + offset));
            ulong Next() => WatermarkKey.Mix(counter += 0x9E3779B97F4A7C15UL);

            // Lengths log-uniform in 16–1,000 tokens, as in `distillguard watermark eval`.
            var length = (int)Math.Round(Math.Exp(Math.Log(16) + (WatermarkKey.ToUnit(Next()) * (Math.Log(1000) - Math.Log(16)))));
            var tokens = new int[length];
            for (var k = 0; k < length; k++)
            {
                tokens[k] = (int)(Next() % 50_257);
            }

            var key = new WatermarkKey(SHA256.HashData(BitConverter.GetBytes(i + offset)));
            pValues[i] = new TokenDetector([key], parameters).Detect(tokens).PValue;
        });

        Array.Sort(pValues);
        var (d, ks) = KolmogorovSmirnov.AgainstUniform(pValues);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{scheme}, {texts:N0} texts from offset {offset}: KS D {d:F5}, p {ks:F3}"));
        foreach (var alpha in new[] { 1e-2, 1e-3, 1e-4 })
        {
            var k = pValues.LongCount(v => v < alpha);
            var (low, high) = EvaluationStatistics.ClopperPearson(k, texts);
            var z = (k - (alpha * texts)) / Math.Sqrt(alpha * (1 - alpha) * texts);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  α {alpha:0e0}: {k:N0} false positives, FPR {k / (double)texts:0.000000} [{low:0.000000}, {high:0.000000}], z {z:F2}"));
        }

        // KS critical value at α = 0.001: 1.95 / √n.
        Assert.True(d < 1.95 / Math.Sqrt(texts), $"KS D = {d:F5}");
    }
}
