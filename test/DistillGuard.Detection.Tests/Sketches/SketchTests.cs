using DistillGuard.Detection.Sketches;

namespace DistillGuard.Detection.Tests.Sketches;

public sealed class SketchTests
{
    [Fact]
    public void HyperLogLog_EstimatesDistinctCounts_WithinFourStandardErrors()
    {
        // σ ≈ 1.04/√m (Flajolet et al. 2007); four σ keeps the property from flaking. The 60 cases come from a fixed
        // seed, so a run that fails fails again.
        var random = new Random(20_261_203);
        for (var trial = 0; trial < 60; trial++)
        {
            var n = random.Next(1, 30_001);
            var salt = (ulong)random.NextInt64();
            var hll = new HyperLogLog(8);
            for (var i = 0; i < n; i++)
            {
                hll.Add(HashMix.Mix((ulong)i ^ salt));
                hll.Add(HashMix.Mix((ulong)i ^ salt)); // duplicates never count twice
            }

            var sigma = 1.04 / Math.Sqrt(hll.Registers);
            Assert.True(Math.Abs(hll.Estimate() - n) <= Math.Max(2, 4 * sigma * n), $"n = {n}, salt = {salt}: estimate {hll.Estimate()}");
        }
    }

    [Fact]
    public void HyperLogLog_Union_IsTheCountOfBoth()
    {
        var a = new HyperLogLog(10);
        var b = new HyperLogLog(10);
        for (ulong i = 0; i < 5000; i++)
        {
            a.Add(i);
            b.Add(i + 2500);
        }

        Assert.InRange(a.EstimateUnion(b), 7500 * 0.85, 7500 * 1.15);
    }

    [Fact]
    public void RepeatMemory_RemembersWhatFits_AndRarelyTakesNewForOld()
    {
        var memory = new RepeatMemory(2048);
        for (ulong i = 0; i < 500; i++)
        {
            memory.Add(HashMix.Mix(i));
        }

        // Direct-mapped: item j keeps its slot with probability (1 - 1/2048)^(499 - j), about 89 % on average.
        var remembered = Enumerable.Range(0, 500).Count(i => memory.Contains(HashMix.Mix((ulong)i)));
        Assert.InRange(remembered, 400, 480);

        // A new item is mistaken for an old one only when its slot holds an equal 8-bit fingerprint.
        var mistaken = Enumerable.Range(1_000_000, 100_000).Count(i => memory.Contains(HashMix.Mix((ulong)i)));
        Assert.True(mistaken < 100_000 * 500 / 2048 / 255 * 2, $"{mistaken} new items taken for repeats");
    }

    [Fact]
    public void RepeatMemory_Flooded_ForgetsRatherThanInventsRepeats()
    {
        var memory = new RepeatMemory(256);
        memory.Add(42);
        for (ulong i = 1; i <= 100_000; i++)
        {
            memory.Add(HashMix.Mix(i));
        }

        var mistaken = Enumerable.Range(1_000_000, 25_500).Count(i => memory.Contains(HashMix.Mix((ulong)i)));
        Assert.InRange(mistaken, 0, 25_500 / 255 * 2);
        Assert.Equal(256, memory.SizeBytes);
    }

    [Fact]
    public void CountMin_NeverUnderCounts()
    {
        var random = new Random(20_261_204);
        for (var trial = 0; trial < 100; trial++)
        {
            var stream = Enumerable.Range(0, random.Next(1, 3_001)).Select(_ => random.Next(0, 201)).ToArray();
            var sketch = new CountMinSketch(64, 3);
            var truth = new Dictionary<int, int>();
            foreach (var item in stream)
            {
                sketch.Add((ulong)item);
                truth[item] = truth.GetValueOrDefault(item) + 1;
            }

            Assert.All(truth, kv => Assert.True(sketch.Estimate((ulong)kv.Key) >= kv.Value, $"trial {trial}: item {kv.Key}"));
            Assert.Equal(stream.Length, sketch.Total);
        }
    }

    [Fact]
    public void CountMin_OverCount_IsBoundedByWidth()
    {
        var sketch = new CountMinSketch(64, 3);
        for (ulong i = 0; i < 10_000; i++)
        {
            sketch.Add(i);
        }

        // e·N/width with probability 1 − e^−3 per item: check most items.
        var within = Enumerable.Range(0, 1000).Count(i => sketch.Estimate((ulong)i) - 1 <= Math.E * 10_000 / 64);
        Assert.True(within >= 900, $"{within} of 1000 items within the bound");
    }

    [Fact]
    public void MinHash_EstimatesJaccard()
    {
        // Every overlap from 0 % to 100 %: the sets are fixed by it, so nothing is left to chance.
        for (var overlapPercent = 0; overlapPercent <= 100; overlapPercent++)
        {
            // Two sets of 1,000 items sharing 'overlap' of them: J = overlap / (2000 − overlap).
            var overlap = overlapPercent * 10;
            var a = new MinHashSignature(64);
            var b = new MinHashSignature(64);
            for (var i = 0; i < 1000; i++)
            {
                a.Add((ulong)i);
                b.Add((ulong)(i + 1000 - overlap));
            }

            var truth = overlap / (2000.0 - overlap);
            var sigma = Math.Sqrt(Math.Max(truth * (1 - truth), 0.01) / 64);
            Assert.True(Math.Abs(a.Jaccard(b) - truth) <= 4 * sigma, $"overlap {overlap}: {a.Jaccard(b)} against {truth}");
        }
    }

    [Fact]
    public void MinHash_EmptySignature_HasNoSimilarity()
    {
        var a = new MinHashSignature();
        var b = new MinHashSignature();
        Assert.True(a.IsEmpty);
        Assert.Equal(0, a.Jaccard(b));
        a.Add(1);
        b.Add(1);
        Assert.Equal(1, a.Jaccard(b));
    }

    [Fact]
    public void SimHash_IsCloserForSharedFeatures()
    {
        static ulong Hash(IEnumerable<ulong> features)
        {
            Span<int> votes = stackalloc int[64];
            var builder = new SimHashBuilder(votes);
            foreach (var f in features)
            {
                builder.Add(f);
            }

            return builder.ToHash();
        }

        var baseline = Hash(Enumerable.Range(0, 40).Select(i => (ulong)i));
        var near = Hash(Enumerable.Range(0, 40).Select(i => (ulong)(i == 39 ? 999 : i)));
        var far = Hash(Enumerable.Range(1000, 40).Select(i => (ulong)i));
        Assert.True(SimHashBuilder.Distance(baseline, near) < SimHashBuilder.Distance(baseline, far));
        Assert.Equal(0, SimHashBuilder.Distance(baseline, Hash(Enumerable.Range(0, 40).Select(i => (ulong)i))));
    }
}
