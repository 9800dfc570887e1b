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

    /// <summary>ln Q(<paramref name="shape"/>, <paramref name="x"/>) for a real shape &gt; 0: the regularized upper incomplete gamma function.</summary>
    /// <remarks>
    /// The series of P(a, x) below x = a + 1, the continued fraction of Q(a, x) above it (evaluated by the modified
    /// Lentz method); both converge in O(√a) terms near the mean. ln Γ by Stirling's series after shifting a to ≥ 20.
    /// </remarks>
    public static double LogUpperContinuous(double shape, double x)
    {
        if (!(shape > 0))
        {
            return double.NegativeInfinity;
        }

        if (x <= 0)
        {
            return 0;
        }

        var logPrefix = (shape * Math.Log(x)) - x - LogGamma(shape);
        if (x < shape + 1)
        {
            // P(a, x) = x^a e^(−x) / Γ(a + 1) · Σ_k x^k / ((a + 1)…(a + k)).
            double sum = 1, term = 1;
            for (var k = 1; k < MaxTerms; k++)
            {
                term *= x / (shape + k);
                sum += term;
                if (term < sum * Negligible)
                {
                    break;
                }
            }

            var lower = Math.Exp(logPrefix - Math.Log(shape) + Math.Log(sum));
            return Math.Min(0, Math.Log(Math.Max(0, 1 - lower)));
        }

        // Q(a, x) = x^a e^(−x) / Γ(a) · 1 / (x + 1 − a − 1·(1 − a) / (x + 3 − a − 2·(2 − a) / (x + 5 − a − …))).
        const double Tiny = 1e-300;
        var b = x + 1 - shape;
        var c = 1 / Tiny;
        var d = 1 / b;
        var fraction = d;
        for (var i = 1; i < MaxTerms; i++)
        {
            var an = -i * (i - shape);
            b += 2;
            d = (an * d) + b;
            d = Math.Abs(d) < Tiny ? Tiny : d;
            c = b + (an / c);
            c = Math.Abs(c) < Tiny ? Tiny : c;
            d = 1 / d;
            var delta = d * c;
            fraction *= delta;
            if (Math.Abs(delta - 1) < FractionTolerance)
            {
                break;
            }
        }

        return Math.Min(0, logPrefix + Math.Log(fraction));
    }

    private const int MaxTerms = 1_000_000;
    private const double FractionTolerance = 1e-15;

    /// <summary>ln Γ(<paramref name="a"/>) for a &gt; 0, to about 1e-15 relative.</summary>
    internal static double LogGamma(double a)
    {
        // Γ(a) = Γ(a + k) / (a (a + 1) … (a + k − 1)): shift into the range where Stirling's series is exact enough.
        double shift = 0;
        while (a < 20)
        {
            shift += Math.Log(a);
            a += 1;
        }

        // The first omitted term, 1/(1188 a⁹), is below 2e-15 at a = 20.
        var inverse = 1.0 / a;
        var inverse2 = inverse * inverse;
        var series = inverse * ((1.0 / 12) - (inverse2 * ((1.0 / 360) - (inverse2 * ((1.0 / 1260) - (inverse2 / 1680))))));
        return ((a - 0.5) * Math.Log(a)) - a + (0.5 * Math.Log(2 * Math.PI)) + series - shift;
    }

    /// <summary>The z-score (x − n) / √n of a Gamma(n, 1) sum, for display only.</summary>
    public static double ZScore(long n, double x) => n == 0 ? 0 : (x - n) / Math.Sqrt(n);
}
