namespace DistillGuard.Watermarking.Statistics;

/// <summary>Exact binomial tails in log space: ln P(X ≥ s) for X ~ Binomial(n, γ), valid far below 1e-300.</summary>
/// <remarks>
/// Sums probability-mass terms relative to the first one (ratios of consecutive terms), so nothing underflows; the
/// tail on the far side of the mean is taken as the complement of the near one. This is the Three Bricks
/// (Fernandez et al., WIFS 2023) test I_γ(s, n − s + 1), without its 1e-200 floor.
/// </remarks>
public static class BinomialTail
{
    private const double Negligible = 1e-17;

    /// <summary>ln P(X = <paramref name="k"/>).</summary>
    public static double LogProbabilityMass(long n, long k, double gamma)
    {
        if (k < 0 || k > n)
        {
            return double.NegativeInfinity;
        }

        return LogFactorial.Of(n) - LogFactorial.Of(k) - LogFactorial.Of(n - k) + (k * Math.Log(gamma)) + ((n - k) * Math.Log(1 - gamma));
    }

    /// <summary>ln P(X ≥ <paramref name="s"/>).</summary>
    public static double LogUpper(long n, long s, double gamma)
    {
        if (s <= 0)
        {
            return 0;
        }

        if (s > n)
        {
            return double.NegativeInfinity;
        }

        if (s <= n * gamma)
        {
            return LogProbability.Complement(LogLower(n, s - 1, gamma));
        }

        // Terms decrease from k = s upward because s is above the mean.
        var ratio = gamma / (1 - gamma);
        double term = 1, sum = 1;
        for (var k = s; k < n; k++)
        {
            term *= (n - k) / (k + 1.0) * ratio;
            sum += term;
            if (term < sum * Negligible)
            {
                break;
            }
        }

        return LogProbabilityMass(n, s, gamma) + Math.Log(sum);
    }

    /// <summary>ln P(X ≤ <paramref name="s"/>).</summary>
    public static double LogLower(long n, long s, double gamma)
    {
        if (s < 0)
        {
            return double.NegativeInfinity;
        }

        if (s >= n)
        {
            return 0;
        }

        if (s >= n * gamma)
        {
            return LogProbability.Complement(LogUpper(n, s + 1, gamma));
        }

        var ratio = (1 - gamma) / gamma;
        double term = 1, sum = 1;
        for (var k = s; k > 0; k--)
        {
            term *= k / (n - k + 1.0) * ratio;
            sum += term;
            if (term < sum * Negligible)
            {
                break;
            }
        }

        return LogProbabilityMass(n, s, gamma) + Math.Log(sum);
    }

    /// <summary>
    /// ln of the randomized p-value P(X &gt; s) + u·P(X = s), which is exactly uniform under H0 for u ~ U(0, 1)
    /// (Tocher's randomized test); <paramref name="u"/> is a deterministic hash of the text in the detector.
    /// </summary>
    public static double LogRandomizedUpper(long n, long s, double gamma, double u) =>
        LogProbability.Add(LogUpper(n, s + 1, gamma), Math.Log(u) + LogProbabilityMass(n, s, gamma));

    /// <summary>The z-score (s − γn) / √(nγ(1 − γ)), for display only.</summary>
    public static double ZScore(long n, long s, double gamma) => n == 0 ? 0 : (s - (gamma * n)) / Math.Sqrt(n * gamma * (1 - gamma));
}
