using System.Globalization;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using Xunit.Abstractions;

namespace DistillGuard.Watermarking.Tests.Detection;

/// <summary>Fixed key and tokens → the bits and p-values every adapter must reproduce (see WatermarkKey's remarks for the PRF).</summary>
public sealed class ConformanceTests(ITestOutputHelper output)
{
    // Master key 00 01 … 1f, epoch 0 (HKDF-SHA256, info "distillguard/watermark/v1/epoch/0").
    private static readonly WatermarkKey Key = new WatermarkKey(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()).DeriveEpoch(0);
    private static readonly int[] Tokens = [464, 3290, 318, 257, 1332, 286, 262, 1578, 13, 383, 3290, 318, 257, 1332, 286, 4950, 2456, 290, 484, 8948];

    private static string Compute()
    {
        var lines = new List<string>
        {
            "seedG(464,3290)=" + Key.WindowSeed((byte)'G', [464, 3290]).ToString("x16", CultureInfo.InvariantCulture),
            "seedE(464,3290,318,257)=" + Key.WindowSeed((byte)'E', [464, 3290, 318, 257]).ToString("x16", CultureInfo.InvariantCulture),
        };
        var seed = Key.WindowSeed((byte)'G', [464, 3290]);
        var threshold = WatermarkParameters.GreenListDefaults.GreenThreshold;
        lines.Add("bits(0..3)=" + string.Join(',', Enumerable.Range(0, 4).Select(id => WatermarkKey.TokenBits(seed, id).ToString("x8", CultureInfo.InvariantCulture))));
        lines.Add("green(0..31)=" + string.Concat(Enumerable.Range(0, 32).Select(id => WatermarkKey.TokenBits(seed, id) < threshold ? '1' : '0')));
        var green = new TokenDetector([Key], WatermarkParameters.GreenListDefaults).Detect(Tokens);
        var gumbel = new TokenDetector([Key], WatermarkParameters.GumbelDefaults).Detect(Tokens);
        lines.Add(FormattableString.Invariant($"greenList n={green.ScoredTokens} green={green.GreenFraction * green.ScoredTokens} log10p={green.Log10PValue:R} log10pConservative={Math.Log10(green.ConservativePValue):R}"));
        lines.Add(FormattableString.Invariant($"gumbel n={gumbel.ScoredTokens} log10p={gumbel.Log10PValue:R} z={gumbel.ZScore:R}"));
        return string.Join('\n', lines);
    }

    [Fact]
    public void Vectors_MatchCheckedInValues()
    {
        var actual = Compute();
        output.WriteLine(actual);
        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Detection", "conformance-vectors.txt")).Trim().ReplaceLineEndings("\n");
        Assert.Equal(expected, actual);
    }
}
