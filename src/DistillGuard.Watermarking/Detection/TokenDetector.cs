using System.Buffers;
using DistillGuard.Watermarking.Keys;
using DistillGuard.Watermarking.Schemes;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Watermarking.Detection;

/// <summary>Scores token ids for a token-level watermark: each (window, token) tuple once, exact tails, corrections for keys, payloads and windows.</summary>
/// <remarks>Thread-safe; per call it allocates a tuple set and rented buffers, nothing per token.</remarks>
public sealed class TokenDetector
{
    private readonly IReadOnlyList<WatermarkKey> _keys;
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

        _keys = keys;
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
        var combos = _keys.Count * payloads;
        var n = tokens.Length;
        var keepScores = options.Windowed || options.Colour;

        var sums = ArrayPool<double>.Shared.Rent(combos);
        var above = ArrayPool<int>.Shared.Rent(combos);
        var seeds = ArrayPool<ulong>.Shared.Rent(_keys.Count);
        var scores = keepScores ? ArrayPool<double>.Shared.Rent(Math.Max(1, combos * n)) : null;
        var scoredAt = ArrayPool<int>.Shared.Rent(Math.Max(1, n));
        var states = keepScores ? ArrayPool<byte>.Shared.Rent(Math.Max(1, n)) : null;
        try
        {
            Array.Clear(sums, 0, combos);
            Array.Clear(above, 0, combos);
            var gumbelGreen = -Math.Log(_parameters.Gamma);
            using var set = new TupleSet(Math.Max(0, n - width));
            var threshold = _parameters.GreenThreshold;
            var tag = _parameters.Tag;
            ulong fold = 0x243F6A8885A308D3UL;
            int scored = 0, repeated = 0;
            for (var i = 0; i < n; i++)
            {
                if (i < width)
                {
                    SetState(states, i, StateContext);
                    continue;
                }

                var window = tokens.Slice(i - width, width);
                var token = tokens[i];
                if (!TupleSet.TryPack(window, token, out var lo, out var hi) || !set.Add(lo, hi))
                {
                    SetState(states, i, StateRepeated);
                    repeated++;
                    continue;
                }

                fold = WatermarkKey.Mix(fold ^ lo) + hi;
                for (var k = 0; k < _keys.Count; k++)
                {
                    seeds[k] = _keys[k].WindowSeed(tag, window);
                }

                for (var k = 0; k < _keys.Count; k++)
                {
                    for (var m = 0; m < payloads; m++)
                    {
                        var id = token + m;
                        if (id >= _vocabulary)
                        {
                            id -= _vocabulary;
                        }

                        var value = WatermarkKey.TokenValue(seeds[k], id);
                        var score = green
                            ? (value < threshold ? 1.0 : 0.0)
                            : -Math.Log(1 - WatermarkKey.ToUnit(value));
                        var combo = (k * payloads) + m;
                        sums[combo] += score;
                        above[combo] += score > gumbelGreen ? 1 : 0;
                        if (scores is not null)
                        {
                            scores[(combo * n) + scored] = score;
                        }
                    }
                }

                SetState(states, i, StateScored);
                scoredAt[scored++] = i;
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
                KeysTried = _keys.Count,
                PayloadsTried = payloads,
                Epoch = watermarked ? _keys[bestKey].Epoch : null,
                Payload = watermarked && payloads > 1 ? bestPayload : null,
                Window = windowMatch,
                Tokens = options.Colour && states is not null && scores is not null
                    ? Colour(tokens, states, scores.AsSpan(best * n, Math.Max(scored, 0)), green ? 0.5 : gumbelGreen, tokenText)
                    : null,
            };
        }
        finally
        {
            ArrayPool<double>.Shared.Return(sums);
            ArrayPool<int>.Shared.Return(above);
            ArrayPool<ulong>.Shared.Return(seeds);
            ArrayPool<int>.Shared.Return(scoredAt);
            if (scores is not null)
            {
                ArrayPool<double>.Shared.Return(scores);
            }

            if (states is not null)
            {
                ArrayPool<byte>.Shared.Return(states);
            }
        }
    }

    private const byte StateContext = 0;
    private const byte StateRepeated = 1;
    private const byte StateScored = 2;

    private static void SetState(byte[]? states, int index, byte state)
    {
        if (states is not null)
        {
            states[index] = state;
        }
    }

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
