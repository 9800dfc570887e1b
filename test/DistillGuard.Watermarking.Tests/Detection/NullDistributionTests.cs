using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Watermarking.Tests.Detection;

/// <summary>Under H0 (text independent of the key) the p-values are uniform, so the false-positive rate is the threshold.</summary>
public sealed class NullDistributionTests
{
    public static TheoryData<string> Schemes => new() { "green", "gumbel", "green-payload" };

    [Theory]
    [MemberData(nameof(Schemes))]
    public void PValues_OnRandomTokens_AreUniform(string scheme)
    {
        var parameters = scheme switch
        {
            "gumbel" => WatermarkParameters.GumbelDefaults,
            "green-payload" => WatermarkParameters.GreenListDefaults with { PayloadBuckets = 8 },
            _ => WatermarkParameters.GreenListDefaults,
        };
        var random = new Random(12345);
        var key = new WatermarkKey(new byte[32]).DeriveEpoch(0);
        var detector = new TokenDetector([key, key.DeriveEpoch(1)], parameters);
        const int Texts = 3000;
        var pValues = new double[Texts];
        for (var t = 0; t < Texts; t++)
        {
            var tokens = new int[random.Next(8, 300)];
            for (var i = 0; i < tokens.Length; i++)
            {
                // A small vocabulary makes repeated tuples common, so de-duplication is exercised too.
                tokens[i] = random.Next(0, t % 2 == 0 ? 50_257 : 40);
            }

            pValues[t] = detector.Detect(tokens).PValue;
        }

        Array.Sort(pValues);
        var d = 0.0;
        for (var i = 0; i < Texts; i++)
        {
            d = Math.Max(d, Math.Max(Math.Abs(pValues[i] - (i / (double)Texts)), Math.Abs(pValues[i] - ((i + 1) / (double)Texts))));
        }

        // Two keys and (for the payload) eight shifts are corrected with Šidák, which is exact only for independent
        // tries; the keys' and shifts' PRF values are independent, so the statistic stays near uniform.
        // KS critical value at α = 0.001: 1.95 / √n.
        Assert.True(d < 1.95 / Math.Sqrt(Texts), $"KS D = {d:F4}");
    }

    [Fact]
    public void EachWindowTokenTuple_IsScoredOnce()
    {
        var detector = new TokenDetector([new WatermarkKey(new byte[32])], WatermarkParameters.GreenListDefaults);
        var phrase = new[] { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
        var tokens = Enumerable.Repeat(phrase, 10).SelectMany(x => x).ToArray();

        var result = detector.Detect(tokens, new DetectorOptions { Colour = true });

        // 10 distinct (window, token) tuples after the first two context tokens cover the cycle.
        Assert.Equal(10, result.ScoredTokens);
        Assert.Equal(tokens.Length - 2 - 10, result.RepeatedTokens);
        Assert.Equal(result.RepeatedTokens, result.Tokens!.Count(t => t.State == "repeated"));
        Assert.Equal(Verdicts.TooShort, result.Verdict);
    }

    [Fact]
    public void EmptyAndTinyInputs_GiveAnAnswerNotAnException()
    {
        var detector = new TokenDetector([new WatermarkKey(new byte[32])], WatermarkParameters.GumbelDefaults);

        var empty = detector.Detect([]);
        var tiny = detector.Detect([1, 2, 3, 4, 5]);

        Assert.Equal(1.0, empty.PValue);
        Assert.Equal(Verdicts.TooShort, empty.Verdict);
        Assert.Equal(1, tiny.ScoredTokens);
        Assert.False(tiny.Watermarked);
    }
}
