namespace DistillGuard.Watermarking.Statistics;

/// <summary>The upper tail of a Gamma(n, 1) sum in log space: ln Q(n, x) for integer n, valid far below 1e-300.</summary>
/// <remarks>
/// Under H0 each scored token of the exponential-minimum scheme contributes −ln(1 − r) ~ Exp(1), so the sum of n is
/// Gamma(n, 1) and the p-value is Q(n, x) (Fernandez et al., WIFS 2023). For integer n,
/// Q(n, x) = P(Poisson(x) ≤ n − 1) = e^(−x) Σ_{k&lt;n} x^k / k!, summed outward from its largest term.
/// </remarks>
public static class GammaTail
{
    private const double Negligible = 1e-17;

    /// <summary>ln Q(<paramref name="n"/>, <paramref name="x"/>) = ln P(Gamma(n, 1) ≥ x).</summary>
    public static double LogUpper(long n, double x)
    {
        if (n <= 0)
        {
            return double.NegativeInfinity;
        }

        if (x <= 0)
        {
            return 0;
        }

        var logX = Math.Log(x);
        var peak = (long)Math.Min(n - 1, Math.Floor(x));
        var logPeak = (peak * logX) - x - LogFactorial.Of(peak);
        double sum = 1, term = 1;
        for (var k = peak; k > 0; k--)
        {
            term *= k / x;
            sum += term;
            if (term < sum * Negligible)
            {
                break;
            }
        }

        term = 1;
        for (var k = peak + 1; k < n; k++)
        {
            term *= x / k;
            sum += term;
            if (term < sum * Negligible)
            {
                break;
            }
        }

        return Math.Min(0, logPeak + Math.Log(sum));
    }

    /// <summary>The z-score (x − n) / √n of a Gamma(n, 1) sum, for display only.</summary>
    public static double ZScore(long n, double x) => n == 0 ? 0 : (x - n) / Math.Sqrt(n);
}
