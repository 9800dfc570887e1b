using System.Buffers;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Watermarking.Detection;

/// <summary>Scores token ids for a token-level watermark: each (window, token) tuple once, exact tails, corrections for keys, payloads and windows.</summary>
/// <remarks>Thread-safe; per call it allocates a tuple set and rented buffers, nothing per token.</remarks>
public sealed class TokenDetector
{
    private readonly WatermarkKey[] _keys; // an array: the per-token loop indexes it without interface dispatch
    private readonly WatermarkParameters _parameters;
    private readonly int _vocabulary;

    /// <summary>Creates a detector that tries every key in <paramref name="keys"/> (newest first).</summary>
    public TokenDetector(IReadOnlyList<WatermarkKey> keys, WatermarkParameters parameters, int vocabularySize = 50_257)
    {
        parameters.Validate();
        if (keys.Count == 0)
        {
            throw new ArgumentException("At least one key is needed.", nameof(keys));
        }

        _keys = [.. keys];
        _parameters = parameters;
        _vocabulary = vocabularySize;
        _tieSeed = keys[0].WindowSeed((byte)'T', []);
    }

    // Keyed, so that for a fixed text the tie-break still varies with the key (the randomness H0 is about); its own
    // tag keeps it independent of the green bits.
    private readonly ulong _tieSeed;

    /// <summary>The parameters detected.</summary>
    public WatermarkParameters Parameters => _parameters;

    /// <summary>Name of the scheme as the API shows it.</summary>
    public string SchemeName => _parameters.Scheme == WatermarkScheme.GreenList ? "green-list" : "gumbel";

    /// <summary>Detects the watermark in <paramref name="tokens"/>; <paramref name="tokenText"/> names tokens for colouring.</summary>
    public WatermarkDetection Detect(ReadOnlySpan<int> tokens, DetectorOptions? options = null, Func<int, string>? tokenText = null)
    {
        options ??= new DetectorOptions();
        var green = _parameters.Scheme == WatermarkScheme.GreenList;
        var width = _parameters.ContextWidth;
        var payloads = green ? _parameters.PayloadBuckets : 1;
        var combos = _keys.Length * payloads;
        var n = tokens.Length;
        var keepScores = options.Windowed || options.Colour;

        var sums = ArrayPool<double>.Shared.Rent(combos);
        var above = ArrayPool<int>.Shared.Rent(combos);
        var seeds = ArrayPool<ulong>.Shared.Rent(_keys.Length);
        var exponents = ArrayPool<long>.Shared.Rent(combos);
        var scores = keepScores ? ArrayPool<double>.Shared.Rent(Math.Max(1, combos * n)) : null;
        var scoredAt = ArrayPool<int>.Shared.Rent(Math.Max(1, n));
        var states = ArrayPool<byte>.Shared.Rent(Math.Max(1, n));
        try
        {
            // Green list: sums count green tuples. Gumbel: sums hold the running product of (1 − r)·2³² in [1, 2)
            // and exponents its powers of two, so the score Σ −ln(1 − r) takes one multiply per token and one
            // logarithm per text (see ProductLog) instead of a logarithm per token.
            sums.AsSpan(0, combos).Fill(green ? 0 : 1);
            Array.Clear(above, 0, combos);
            Array.Clear(exponents, 0, combos);
            var gumbelGreen = -Math.Log(_parameters.Gamma);
            var threshold = _parameters.GreenThreshold;
            var tag = _parameters.Tag;
            ulong fold = 0x243F6A8885A308D3UL;
            int scored = 0, repeated = 0;

            // Pass 1, de-duplication alone: a tight loop whose set probes are independent, so the processor keeps
            // several cache misses in flight on long texts instead of one per token behind the hashing below.
            using (var set = new TupleSet(Math.Max(0, n - width), width))
            {
                states.AsSpan(0, Math.Min(width, n)).Clear(); // StateContext is 0
                for (var i = width; i < n; i++)
                {
                    if (i + PrefetchDistance < n && TupleSet.TryPack(tokens.Slice(i + PrefetchDistance - width, width), tokens[i + PrefetchDistance], out var aheadLo, out var aheadHi))
                    {
                        set.Prefetch(aheadLo, aheadHi);
                    }

                    var fresh = TupleSet.TryPack(tokens.Slice(i - width, width), tokens[i], out var lo, out var hi) && set.Add(lo, hi);
                    states[i] = fresh ? StateScored : StateRepeated;
                    repeated += fresh ? 0 : 1;
                }
            }

            // Pass 2, scoring: one SipHash per new tuple and key, then one PRF value per payload.
            for (var i = width; i < n; i++)
            {
                if (states[i] != StateScored)
                {
                    continue;
                }

                var window = tokens.Slice(i - width, width);
                var token = tokens[i];
                if (green)
                {
                    TupleSet.TryPack(window, token, out var lo, out var hi);
                    fold = WatermarkKey.Mix(fold ^ lo) + hi;
                }

                for (var k = 0; k < _keys.Length; k++)
                {
                    seeds[k] = _keys[k].WindowSeed(tag, window);
                }

                for (var k = 0; k < _keys.Length; k++)
                {
                    for (var m = 0; m < payloads; m++)
                    {
                        var id = token + m;
                        if (id >= _vocabulary)
                        {
                            id -= _vocabulary;
                        }

                        var bits = WatermarkKey.TokenBits(seeds[k], id);
                        var combo = (k * payloads) + m;
                        if (green)
                        {
                            sums[combo] += bits < threshold ? 1 : 0;
                        }
                        else
                        {
                            // 1 − r = (~u + ½) / 2³²; "green" for the display fraction means 1 − r < γ.
                            var complement = ~bits;
                            sums[combo] *= complement + 0.5;
                            above[combo] += complement < threshold ? 1 : 0;
                        }

                        if (scores is not null)
                        {
                            scores[(combo * n) + scored] = green ? (bits < threshold ? 1 : 0) : WatermarkKey.ExponentialScore(bits);
                        }
                    }
                }

                scoredAt[scored++] = i;
                if (!green && (scored & (ProductRenormalisation - 1)) == 0)
                {
                    Renormalise(sums.AsSpan(0, combos), exponents.AsSpan(0, combos));
                }
            }

            if (!green)
            {
                Renormalise(sums.AsSpan(0, combos), exponents.AsSpan(0, combos));
                for (var c = 0; c < combos; c++)
                {
                    sums[c] = ProductLog(scored, sums[c], exponents[c]);
                }
            }

            var tieBreak = WatermarkKey.ToUnit(WatermarkKey.Mix(fold ^ _tieSeed));

            // The best (key, payload) on the whole text.
            var best = 0;
            var bestLogP = double.PositiveInfinity;
            var bestConservative = 0.0;
            for (var c = 0; c < combos; c++)
            {
                var logP = LogPValue(scored, sums[c], tieBreak, green, out var conservative);
                if (logP < bestLogP)
                {
                    bestLogP = logP;
                    best = c;
                    bestConservative = conservative;
                }
            }

            var tried = combos;
            var logPCorrected = LogProbability.Sidak(bestLogP, tried);
            var conservativeCorrected = LogProbability.Sidak(bestConservative, tried);
            WindowMatch? windowMatch = null;
            if (options.Windowed && scores is not null && scored >= 64)
            {
                var (match, logWindow) = SearchWindows(scores, n, combos, scored, scoredAt, green, tieBreak, ref best);
                if (match is not null)
                {
                    // The family is every window of every (key, payload) plus the whole text: Bonferroni over all of it.
                    var family = (long)(match.WindowsTried + 1) * combos;
                    var familyLogP = LogProbability.Bonferroni(Math.Min(logWindow, bestLogP), family);
                    windowMatch = match;
                    logPCorrected = familyLogP;
                    conservativeCorrected = Math.Max(conservativeCorrected, familyLogP);
                }
            }

            var bestKey = best / payloads;
            var bestPayload = best % payloads;
            var sum = sums[best];
            // For the Gumbel scheme "green" means r ≥ 1 − γ, so the fraction is γ on unmarked text as well.
            var greenFraction = scored == 0 ? 0 : (green ? sum : above[best]) / (double)scored;

            var pValue = Math.Exp(logPCorrected);
            var enough = scored >= options.MinScoredTokens;
            var watermarked = enough && pValue < options.Threshold;
            return new WatermarkDetection
            {
                Scheme = SchemeName,
                PValue = pValue,
                Log10PValue = LogProbability.ToLog10(logPCorrected),
                ConservativePValue = Math.Exp(conservativeCorrected),
                ZScore = green ? BinomialTail.ZScore(scored, (long)sum, _parameters.Gamma) : GammaTail.ZScore(scored, sum),
                TotalTokens = n,
                ScoredTokens = scored,
                RepeatedTokens = repeated,
                GreenFraction = greenFraction,
                Watermarked = watermarked,
                Threshold = options.Threshold,
                Verdict = !enough ? Verdicts.TooShort : watermarked ? Verdicts.Watermarked : Verdicts.NotWatermarked,
                KeysTried = _keys.Length,
                PayloadsTried = payloads,
                Epoch = watermarked ? _keys[bestKey].Epoch : null,
                Payload = watermarked && payloads > 1 ? bestPayload : null,
                Window = windowMatch,
                Tokens = options.Colour && scores is not null
                    ? Colour(tokens, states, scores.AsSpan(best * n, Math.Max(scored, 0)), green ? 0.5 : gumbelGreen, tokenText)
                    : null,
            };
        }
        finally
        {
            ArrayPool<double>.Shared.Return(sums);
            ArrayPool<int>.Shared.Return(above);
            ArrayPool<ulong>.Shared.Return(seeds);
            ArrayPool<long>.Shared.Return(exponents);
            ArrayPool<int>.Shared.Return(scoredAt);
            if (scores is not null)
            {
                ArrayPool<double>.Shared.Return(scores);
            }

            ArrayPool<byte>.Shared.Return(states);
        }
    }

    // Every factor of the Gumbel product lies in [½, 2³²), so a product kept in [1, 2) stays far inside the double
    // range for 16 more factors (at most 2⁵¹³); renormalising every 16 scored tokens is safe.
    private const int ProductRenormalisation = 16;

    /// <summary>Moves the binary exponent of each product into <paramref name="exponents"/>, leaving the mantissa in [1, 2).</summary>
    private static void Renormalise(Span<double> products, Span<long> exponents)
    {
        for (var c = 0; c < products.Length; c++)
        {
            var bits = BitConverter.DoubleToInt64Bits(products[c]);
            exponents[c] += ((bits >> 52) & 0x7FF) - 1023;
            products[c] = BitConverter.Int64BitsToDouble((bits & 0x000F_FFFF_FFFF_FFFFL) | 0x3FF0_0000_0000_0000L);
        }
    }

    /// <summary>Σ −ln(1 − rᵢ) over <paramref name="scored"/> tokens from Π (1 − rᵢ)·2³² = mantissa · 2^exponent.</summary>
    /// <remarks>The integer (32·n − exponent) is exact, so the only rounding is in one product by ln 2 and one logarithm.</remarks>
    private static double ProductLog(int scored, double mantissa, long exponent) =>
        (((32L * scored) - exponent) * Math.Log(2)) - Math.Log(mantissa);

    // Tuples looked up ahead in the de-duplication pass: enough to cover a memory access at a few ns per tuple.
    private const int PrefetchDistance = 16;

    private const byte StateContext = 0;
    private const byte StateRepeated = 1;
    private const byte StateScored = 2;

    private double LogPValue(int scored, double sum, double tieBreak, bool green, out double conservative)
    {
        if (scored == 0)
        {
            conservative = 0;
            return 0;
        }

        if (green)
        {
            var s = (long)Math.Round(sum);
            conservative = BinomialTail.LogUpper(scored, s, _parameters.Gamma);
            return BinomialTail.LogRandomizedUpper(scored, s, _parameters.Gamma, tieBreak);
        }

        conservative = GammaTail.LogUpper(scored, sum);
        return conservative;
    }

    /// <summary>Dyadic windows (32, 64, … scored tokens below the total) at quarter stride, for every (key, payload).</summary>
    private (WindowMatch? Match, double LogP) SearchWindows(double[] scores, int n, int combos, int scored, int[] scoredAt, bool green, double tieBreak, ref int best)
    {
        WindowMatch? match = null;
        var bestLogP = double.PositiveInfinity;
        var windows = 0;
        for (var size = 32; size < scored; size *= 2)
        {
            windows += ((scored - size) / (size / 4)) + 1;
        }

        for (var c = 0; c < combos; c++)
        {
            var row = scores.AsSpan(c * n, scored);
            for (var size = 32; size < scored; size *= 2)
            {
                var stride = size / 4;
                double running = 0;
                for (var i = 0; i < size; i++)
                {
                    running += row[i];
                }

                for (var start = 0; start + size <= scored; start += stride)
                {
                    if (start > 0)
                    {
                        for (var i = start - stride; i < start; i++)
                        {
                            running += row[i + size] - row[i];
                        }
                    }

                    var logP = LogPValue(size, running, tieBreak, green, out _);
                    if (logP < bestLogP)
                    {
                        bestLogP = logP;
                        best = c;
                        match = new WindowMatch(scoredAt[start], scoredAt[start + size - 1] + 1, size, LogProbability.ToLog10(logP), windows);
                    }
                }
            }
        }

        return (match, bestLogP);
    }

    private static List<TokenColour> Colour(ReadOnlySpan<int> tokens, byte[] states, ReadOnlySpan<double> row, double greenScore, Func<int, string>? tokenText)
    {
        var result = new List<TokenColour>(tokens.Length);
        var scored = 0;
        for (var i = 0; i < tokens.Length; i++)
        {
            var text = tokenText?.Invoke(tokens[i]) ?? tokens[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
            switch (states[i])
            {
                case StateContext:
                    result.Add(new TokenColour(i, text, "context", 0));
                    break;
                case StateRepeated:
                    result.Add(new TokenColour(i, text, "repeated", 0));
                    break;
                default:
                    var score = row[scored++];
                    result.Add(new TokenColour(i, text, score > greenScore ? "green" : "red", score));
                    break;
            }
        }

        return result;
    }
}
