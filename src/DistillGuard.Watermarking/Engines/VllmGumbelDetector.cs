using System.Buffers;
using DistillGuard.Watermarking.Detection;
using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Watermarking.Engines;

/// <summary>The raw outcome of scoring token ids for vLLM's Gumbel watermark.</summary>
/// <param name="Score">Σ −ln(1 − u) over the scored tokens (for the dual-key scheme, the (1 − α, α)-weighted sum of both keys' scores).</param>
/// <param name="LogPValue">ln of the p-value: exact far below the double range.</param>
/// <param name="ScoredTokens">Tokens scored (one per distinct context when contexts are de-duplicated).</param>
/// <param name="TotalTokens">Tokens in the input.</param>
public readonly record struct VllmScore(double Score, double LogPValue, int ScoredTokens, int TotalTokens)
{
    /// <summary>The p-value (0 once below the double range; see <see cref="LogPValue"/>).</summary>
    public double PValue => Math.Exp(LogPValue);

    /// <summary>Tokens skipped because their context was scored before.</summary>
    public int RepeatedTokens => TotalTokens - ScoredTokens;
}

/// <summary>Detects vLLM's Gumbel-max watermark (<c>gumbel</c>, or <c>dual_key_gumbel</c> for speculative decoding) in token ids.</summary>
/// <remarks>
/// <para>
/// As vLLM's <c>GumbelWatermarkDetector</c>: every token is scored with the <c>context_width</c> ids before it
/// (−1 before the start, so no token is context only), each context once when <c>deduplicate_contexts</c> is on
/// (a repeated context reuses one keyed random vector, so its tokens are not independent evidence). Under H0 each
/// score −ln(1 − u) is Exp(1) and the sum of n is Gamma(n, 1): p = Q(n, score), in log space here.
/// </para>
/// <para>
/// Dual key: keys A and B are derived from the configured key (<see cref="VllmWatermarkKeys"/>); vLLM samples each
/// token under B with probability α, and the detector fuses the two scores per token with weights (1 − α, α). The
/// fused sum has mean n and variance n·v, v = (1 − α)² + α², and is tested as Gamma(n / v, v) (exact for α ∈ {0, ½, 1},
/// where vLLM rounds the shape to an integer; moment-matched otherwise, as vLLM does).
/// </para>
/// <para>Thread-safe; a call rents its buffers and allocates nothing per token.</para>
/// </remarks>
public sealed class VllmGumbelDetector
{
    private readonly VllmPhiloxPrf _prfA;
    private readonly VllmPhiloxPrf? _prfB;
    private readonly double _alpha;
    private readonly int _width;
    private readonly bool _deduplicate;

    /// <summary>Creates a detector for the single-key <c>gumbel</c> scheme, or the dual-key one when <paramref name="dualKeyAlpha"/> is set.</summary>
    /// <param name="key">vLLM's 64-bit watermark key.</param>
    /// <param name="contextWidth">Previous token ids the PRF reads (vLLM's default 4).</param>
    /// <param name="deduplicateContexts">Score each context once (vLLM's detector default).</param>
    /// <param name="dualKeyAlpha">The dual-key scheme's α (probability of key B, vLLM's default 0.1); null for single key.</param>
    public VllmGumbelDetector(ulong key, int contextWidth = 4, bool deduplicateContexts = true, double? dualKeyAlpha = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextWidth, 1);
        if (dualKeyAlpha is { } alpha && !(alpha >= 0 && alpha <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(dualKeyAlpha), alpha, "alpha must lie in [0, 1].");
        }

        _width = contextWidth;
        _deduplicate = deduplicateContexts;
        if (dualKeyAlpha is { } a)
        {
            _alpha = a;
            _prfA = new VllmPhiloxPrf(VllmWatermarkKeys.DualKeyA(key));
            _prfB = new VllmPhiloxPrf(VllmWatermarkKeys.DualKeyB(key));
        }
        else
        {
            _prfA = new VllmPhiloxPrf(key);
        }
    }

    /// <summary>The context width.</summary>
    public int ContextWidth => _width;

    /// <summary>Whether this is the dual-key scheme.</summary>
    public bool DualKey => _prfB is not null;

    /// <summary>Name of the scheme as the API shows it: <c>vllm-gumbel</c> or <c>vllm-dual-key-gumbel</c>.</summary>
    public string SchemeName => DualKey ? "vllm-dual-key-gumbel" : "vllm-gumbel";

    /// <summary>Scores <paramref name="tokens"/>: the statistic, its exact p-value and the tokens counted.</summary>
    public VllmScore Score(ReadOnlySpan<int> tokens)
    {
        var n = tokens.Length;
        if (n == 0)
        {
            return new VllmScore(0, 0, 0, 0);
        }

        var padded = ArrayPool<int>.Shared.Rent(n + _width);
        try
        {
            padded.AsSpan(0, _width).Fill(-1);
            tokens.CopyTo(padded.AsSpan(_width));
            var contexts = padded.AsSpan(0, n + _width);
            double score;
            int scored;
            if (_prfB is null)
            {
                (score, scored) = SumSingle(contexts, n);
            }
            else
            {
                (score, scored) = SumDual(contexts, n);
            }

            return new VllmScore(score, LogPValue(score, scored), scored, n);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(padded);
        }
    }

    /// <summary>Scores <paramref name="tokens"/> and states a verdict in the shape every detector of the gateway returns.</summary>
    public WatermarkDetection Detect(ReadOnlySpan<int> tokens, DetectorOptions? options = null)
    {
        options ??= new DetectorOptions();
        var result = Score(tokens);
        var enough = result.ScoredTokens >= options.MinScoredTokens;
        var watermarked = enough && result.PValue < options.Threshold;
        var variance = Variance(_prfB is null ? 0 : _alpha);
        return new WatermarkDetection
        {
            Scheme = SchemeName,
            PValue = result.PValue,
            Log10PValue = LogProbability.ToLog10(result.LogPValue),
            ConservativePValue = result.PValue,
            ZScore = result.ScoredTokens == 0 ? 0 : (result.Score - result.ScoredTokens) / Math.Sqrt(result.ScoredTokens * variance),
            TotalTokens = result.TotalTokens,
            ScoredTokens = result.ScoredTokens,
            RepeatedTokens = result.RepeatedTokens,
            GreenFraction = 0,
            Score = result.Score,
            Watermarked = watermarked,
            Threshold = options.Threshold,
            Verdict = !enough ? Verdicts.TooShort : watermarked ? Verdicts.Watermarked : Verdicts.NotWatermarked,
        };
    }

    private (double Score, int Scored) SumSingle(ReadOnlySpan<int> padded, int n)
    {
        var prf = _prfA;
        var width = _width;
        double score = 0;
        var scored = 0;
        using var seen = _deduplicate ? new ContextSet(n) : null;
        for (var i = 0; i < n; i++)
        {
            var state = prf.Absorb(padded.Slice(i, width));
            if (seen is not null && !seen.Add(padded, i, width, ((ulong)state.X1 << 32) | state.X0))
            {
                continue;
            }

            // Summed in token order, as the reference detector does, so the score matches it to the last bit.
            score += VllmPhiloxPrf.Score(VllmPhiloxPrf.Uniform(prf.Word(state, padded[i + width])));
            scored++;
        }

        return (score, scored);
    }

    private (double Score, int Scored) SumDual(ReadOnlySpan<int> padded, int n)
    {
        var prfA = _prfA;
        var prfB = _prfB!;
        var width = _width;
        var weightB = _alpha;
        var weightA = 1 - _alpha;
        double score = 0;
        var scored = 0;
        using var seen = _deduplicate ? new ContextSet(n) : null;
        for (var i = 0; i < n; i++)
        {
            var context = padded.Slice(i, width);
            var stateA = prfA.Absorb(context);
            if (seen is not null && !seen.Add(padded, i, width, ((ulong)stateA.X1 << 32) | stateA.X0))
            {
                continue;
            }

            var token = padded[i + width];
            var scoreA = VllmPhiloxPrf.Score(VllmPhiloxPrf.Uniform(prfA.Word(stateA, token)));
            var scoreB = VllmPhiloxPrf.Score(VllmPhiloxPrf.Uniform(prfB.Word(prfB.Absorb(context), token)));
            score += (weightA * scoreA) + (weightB * scoreB);
            scored++;
        }

        return (score, scored);
    }

    private static double Variance(double alpha) => ((1 - alpha) * (1 - alpha)) + (alpha * alpha);

    private double LogPValue(double score, int scored)
    {
        if (scored == 0)
        {
            return 0;
        }

        if (_prfB is null)
        {
            return GammaTail.LogUpper(scored, score);
        }

        var variance = Variance(_alpha);
        if (_alpha is 0 or 0.5 or 1)
        {
            return GammaTail.LogUpper((long)Math.Round(scored / variance), score / variance);
        }

        return GammaTail.LogUpperContinuous(scored / variance, score / variance);
    }
}
