using DistillGuard.LanguageModels.Sampling;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;

namespace DistillGuard.Watermarking.Tests.Schemes;

/// <summary>One step of the Gumbel hook: a window, candidate ids and their tempered logits.</summary>
internal sealed record GumbelCase(string Shape, int[] Previous, int[] Ids, float[] Logits);

/// <summary>Reproducible steps for the Gumbel hook over the distributions a sampler hands it, and the straightforward argmax to check them against.</summary>
/// <remarks>
/// Drawn from a SplitMix64 counter, so the cases are the same on every machine and runtime. Shapes: flat, uniform
/// random, peaked, Zipf, tiny probabilities (logits near −90), a low temperature (logits ×100), top-p-truncated
/// nuclei in the sampler's unordered layout, ties in the logits, −∞ logits, and the whole vocabulary in id order.
/// </remarks>
internal static class GumbelCases
{
    private const int Vocabulary = 50_257;
    private static readonly int[] Sizes = [2, 3, 7, 8, 9, 15, 16, 17, 100, 255, 256, 1_023, 1_024, 1_025, 2_049, 5_000];
    private static readonly string[] Shapes = ["flat", "uniform", "peaked", "zipf", "tiny", "cold", "top-p", "ties", "minus-infinity", "vocabulary"];

    /// <summary>Case number <paramref name="index"/> of the family <paramref name="family"/>.</summary>
    public static GumbelCase Create(int index, ulong family = 0)
    {
        var counter = WatermarkKey.Mix(family ^ ((ulong)index * 0xD1B54A32D192ED03UL));
        ulong Next() => WatermarkKey.Mix(counter += 0x9E3779B97F4A7C15UL);
        double Unit() => WatermarkKey.ToUnit(Next());

        var shape = Shapes[index % Shapes.Length];
        var size = shape == "vocabulary" ? Vocabulary : Sizes[(int)(Next() % (ulong)Sizes.Length)];
        var ids = shape == "vocabulary" ? Enumerable.Range(0, Vocabulary).ToArray() : DistinctIds(size, Next);
        var logProbabilities = new double[size];
        for (var i = 0; i < size; i++)
        {
            logProbabilities[i] = shape switch
            {
                "flat" => -Math.Log(size) + (1e-7 * Unit()),
                "peaked" => i == 0 ? -0.01 : -12 - (8 * Unit()),
                "zipf" or "top-p" or "vocabulary" => -(0.5 + (1.5 * Unit())) * Math.Log(i + 1),
                "tiny" => -60 - (30 * Unit()),
                "cold" => 100 * Math.Log(Unit()),
                "ties" => -Math.Floor(4 * Unit()),
                _ => Math.Log(Unit()),
            };
        }

        if (shape == "minus-infinity")
        {
            for (var i = 0; i < size; i++)
            {
                if (Next() % 3 == 0)
                {
                    logProbabilities[i] = double.NegativeInfinity;
                }
            }
        }

        if (shape == "top-p")
        {
            (ids, logProbabilities) = Nucleus(ids, logProbabilities, 0.5 + (0.49 * Unit()), Next);
        }
        else if (shape is "peaked" or "zipf")
        {
            // The most likely candidates anywhere in the span, as in the sampler's unordered nucleus.
            Shuffle(ids, logProbabilities, Next);
        }

        var inverseTemperature = shape == "cold" ? 1f : (float)(1 / (0.2 + (1.3 * Unit())));
        var logits = logProbabilities.Select(l => (float)l * inverseTemperature).ToArray();
        int[] previous = [(int)(Next() % Vocabulary), (int)(Next() % Vocabulary), (int)(Next() % Vocabulary), (int)(Next() % Vocabulary), (int)(Next() % Vocabulary)];
        return new GumbelCase(shape, previous, ids, logits);
    }

    /// <summary>Runs <paramref name="processor"/> on a copy of the case's logits; returns the index it kept, or −1 when it changed nothing.</summary>
    public static int Choose(GumbelProcessor processor, GumbelCase step)
    {
        var logits = (float[])step.Logits.Clone();
        processor.Process(new LogitsContext(step.Previous, generatedCount: 0, greedy: false), step.Ids, logits);
        var kept = Array.IndexOf(logits, 0f);
        if (step.Ids.Length < 2 || kept < 0 || logits.Count(float.IsNegativeInfinity) != logits.Length - 1)
        {
            Assert.Equal(step.Logits, logits);
            return -1;
        }

        return kept;
    }

    /// <summary>The definition, candidate by candidate: the first index of the largest logit − ln(−ln r); −1 when no score beats −∞ or there is no choice to make.</summary>
    public static int Reference(WatermarkKey key, GumbelCase step)
    {
        if (step.Ids.Length < 2)
        {
            return -1;
        }

        var seed = key.WindowSeed((byte)'E', step.Previous.AsSpan(1));
        var best = -1;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < step.Ids.Length; i++)
        {
            var r = WatermarkKey.ToUniform(WatermarkKey.TokenBits(seed, step.Ids[i]));
            var score = step.Logits[i] - Math.Log(-Math.Log(r));
            if (score > bestScore)
            {
                bestScore = score;
                best = i;
            }
        }

        return best;
    }

    private static int[] DistinctIds(int size, Func<ulong> next)
    {
        var pool = Enumerable.Range(0, Vocabulary).ToArray();
        for (var i = 0; i < size; i++)
        {
            var j = i + (int)(next() % (ulong)(Vocabulary - i));
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }

        return pool[..size];
    }

    private static void Shuffle(int[] ids, double[] logProbabilities, Func<ulong> next)
    {
        for (var i = ids.Length - 1; i > 0; i--)
        {
            var j = (int)(next() % (ulong)(i + 1));
            (ids[i], ids[j]) = (ids[j], ids[i]);
            (logProbabilities[i], logProbabilities[j]) = (logProbabilities[j], logProbabilities[i]);
        }
    }

    /// <summary>The smallest set of most likely candidates holding <paramref name="topP"/> of the mass, shuffled.</summary>
    private static (int[] Ids, double[] LogProbabilities) Nucleus(int[] ids, double[] logProbabilities, double topP, Func<ulong> next)
    {
        var order = Enumerable.Range(0, ids.Length).OrderByDescending(i => logProbabilities[i]).ToArray();
        var max = logProbabilities[order[0]];
        var total = logProbabilities.Sum(l => Math.Exp(l - max));
        var kept = 0;
        double mass = 0;
        while (kept < order.Length && mass < topP * total)
        {
            mass += Math.Exp(logProbabilities[order[kept++]] - max);
        }

        var keptIds = order[..kept].Select(i => ids[i]).ToArray();
        var keptLogs = order[..kept].Select(i => logProbabilities[i]).ToArray();
        Shuffle(keptIds, keptLogs, next);
        return (keptIds, keptLogs);
    }
}
