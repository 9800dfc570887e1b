using System.Globalization;
using DistillGuard.Watermarking.Engines;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Watermarking.Tests.Engines;

/// <summary>vLLM's Philox/Gumbel watermark against vectors computed outside this project (shared/conformance).</summary>
public sealed class VllmConformanceTests
{
    private const string VectorFile = "vllm-philox-gumbel.tsv";

    /// <summary>The conformance file: the copy shipped beside the tests (Engines/Conformance), else the shared folder's.</summary>
    internal static string VectorPath()
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "Engines", "Conformance", VectorFile);
        if (File.Exists(shipped))
        {
            return shipped;
        }

        return SharedVectorPath() ?? throw new FileNotFoundException($"{VectorFile} was found neither beside the tests nor in a parent's shared/conformance folder.");
    }

    [Fact]
    public void ShippedCopy_IsTheSharedFile_WhenTheSharedFolderIsPresent()
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "Engines", "Conformance", VectorFile);
        Assert.True(File.Exists(shipped), shipped);
        if (SharedVectorPath() is { } shared)
        {
            Assert.Equal(File.ReadAllBytes(shared), File.ReadAllBytes(shipped));
        }
    }

    /// <summary>The shared folder's copy, found by walking up from the test binaries to the folder that holds <c>shared/</c>; null when absent.</summary>
    private static string? SharedVectorPath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "shared", "conformance", VectorFile);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static IEnumerable<string[]> Rows(string kind) =>
        File.ReadLines(VectorPath())
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => line.Split('\t'))
            .Where(fields => fields[0] == kind);

    private static int[] Ids(string field) => [.. field.Split(',').Select(id => int.Parse(id, CultureInfo.InvariantCulture))];

    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox_Random123KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint e0, uint e1, uint e2, uint e3)
    {
        Assert.Equal(new PhiloxBlock(e0, e1, e2, e3), Philox4x32.Encrypt(new PhiloxBlock(c0, c1, c2, c3), k0, k1));
    }

    [Fact]
    public void Prf_EveryRow_WordAndUniformExact()
    {
        var rows = Rows("prf").ToList();
        Assert.Equal(64, rows.Count);
        Assert.Equal([1, 4, 5, 8], rows.Select(r => r[2].Split(',').Length).Distinct().Order()); // one, one block, a partial second block, two blocks
        foreach (var row in rows)
        {
            var prf = new VllmPhiloxPrf(ulong.Parse(row[1], CultureInfo.InvariantCulture));
            var context = Ids(row[2]);
            var token = int.Parse(row[3], CultureInfo.InvariantCulture);
            var word = prf.Word(context, token);
            Assert.True(uint.Parse(row[4], CultureInfo.InvariantCulture) == word, $"key {row[1]}, context {row[2]}, token {row[3]}: word {word}, expected {row[4]}");
            var uniform = VllmPhiloxPrf.Uniform(word);
            Assert.Equal(double.Parse(row[5], CultureInfo.InvariantCulture), (double)uniform);
        }
    }

    [Fact]
    public void Score_EveryRow_CountAndScoreExact()
    {
        var rows = Rows("score").ToList();
        Assert.Equal(2, rows.Count);
        foreach (var row in rows)
        {
            Assert.Equal("w=4,dedupe", row[3]);
            var detector = new VllmGumbelDetector(ulong.Parse(row[1], CultureInfo.InvariantCulture), contextWidth: 4, deduplicateContexts: true);
            var result = detector.Score(Ids(row[2]));
            Assert.Equal(int.Parse(row[4], CultureInfo.InvariantCulture), result.ScoredTokens);
            var expected = double.Parse(row[5], CultureInfo.InvariantCulture);
            Assert.True(expected == result.Score, $"key {row[1]}: score {result.Score:R}, expected {expected:R}");

            // The p-value is the Gamma(n, 1) survival function at the score: check it against the plain finite sum
            // e^(−x) Σ_{k<n} x^k / k! (the scores here are moderate, so doubles suffice for it).
            double term = 1, sum = 1;
            for (var k = 1; k < result.ScoredTokens; k++)
            {
                term *= expected / k;
                sum += term;
            }

            var reference = Math.Exp(-expected) * sum;
            Assert.Equal(reference, result.PValue, reference * 1e-10);
        }
    }

    [Fact]
    public void Score_WithoutDeduplication_ScoresEveryToken()
    {
        var row = Rows("score").First();
        var tokens = Ids(row[2]);
        var detector = new VllmGumbelDetector(ulong.Parse(row[1], CultureInfo.InvariantCulture), 4, deduplicateContexts: false);
        var prf = new VllmPhiloxPrf(ulong.Parse(row[1], CultureInfo.InvariantCulture));
        var padded = Enumerable.Repeat(-1, 4).Concat(tokens).ToArray();
        double expected = 0;
        for (var i = 0; i < tokens.Length; i++)
        {
            expected += VllmPhiloxPrf.Score(VllmPhiloxPrf.Uniform(prf.Word(padded.AsSpan(i, 4), tokens[i])));
        }

        var result = detector.Score(tokens);
        Assert.Equal(tokens.Length, result.ScoredTokens);
        Assert.Equal(expected, result.Score);
    }

    [Theory]
    [InlineData(42ul, 37150756557148556ul, 15826636237805488045ul)]
    [InlineData(81985529216486895ul, 7612991067998378398ul, 15372123765673323612ul)]
    public void DualKeys_AreSha256Derived(ulong key, ulong a, ulong b)
    {
        // Expected values: Python hashlib, int.from_bytes(sha256(b"key_a" + key.to_bytes(8, "big")).digest()[:8], "big").
        Assert.Equal(a, VllmWatermarkKeys.DualKeyA(key));
        Assert.Equal(b, VllmWatermarkKeys.DualKeyB(key));
    }

    [Fact]
    public void DualKey_AlphaZeroAndOne_AreTheSingleKeyDetectorsOfKeysAAndB()
    {
        var tokens = Ids(Rows("score").First()[2]);
        var zero = new VllmGumbelDetector(42, dualKeyAlpha: 0).Score(tokens);
        var one = new VllmGumbelDetector(42, dualKeyAlpha: 1).Score(tokens);
        Assert.Equal(new VllmGumbelDetector(VllmWatermarkKeys.DualKeyA(42)).Score(tokens), zero);
        Assert.Equal(new VllmGumbelDetector(VllmWatermarkKeys.DualKeyB(42)).Score(tokens), one);
    }

    [Fact]
    public void DualKey_HalfAlpha_IsGammaOfTwiceTheTokens()
    {
        var tokens = Ids(Rows("score").First()[2]);
        var half = new VllmGumbelDetector(42, dualKeyAlpha: 0.5).Score(tokens);
        var a = new VllmGumbelDetector(VllmWatermarkKeys.DualKeyA(42)).Score(tokens);
        var b = new VllmGumbelDetector(VllmWatermarkKeys.DualKeyB(42)).Score(tokens);
        Assert.Equal((a.Score + b.Score) / 2, half.Score, 1e-12);
        Assert.Equal(GammaTail.LogUpper(2 * half.ScoredTokens, a.Score + b.Score), half.LogPValue, 1e-9);
    }

    [Theory]
    // Reference: mpmath 1.3.0 at 40 digits, log(gammainc(a, x, inf, regularized=True)).
    [InlineData(0.5, 2.0, -3.0900371531220866394)]
    [InlineData(12.3456, 20.0, -3.6284888523036948301)]
    [InlineData(121.95, 150.0, -4.7971479240406833088)]
    [InlineData(1219.5, 1500.0, -31.054797570782801034)]
    [InlineData(87.8, 80.0, -0.22988025500331382982)]
    [InlineData(8780.5, 8800.0, -0.87647660054771015839)]
    [InlineData(3.7, 1.2, -0.051922332715484754825)]
    public void GammaUpperContinuous_MatchesMpmath(double shape, double x, double expectedLog)
    {
        Assert.Equal(expectedLog, GammaTail.LogUpperContinuous(shape, x), 1e-10);
    }

    [Theory]
    [InlineData(1, 3.0)]
    [InlineData(72, 89.8)]
    [InlineData(500, 400.0)]
    [InlineData(2000, 2600.0)]
    public void GammaUpperContinuous_AtIntegerShape_IsTheIntegerTail(int n, double x)
    {
        var exact = GammaTail.LogUpper(n, x);
        Assert.Equal(exact, GammaTail.LogUpperContinuous(n, x), Math.Max(1e-10, Math.Abs(exact) * 1e-12));
    }
}
