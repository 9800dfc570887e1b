using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Lab.Watermarks;

/// <summary>Confidence intervals and the Kolmogorov–Smirnov test used by the evaluation.</summary>
public static class EvaluationStatistics
{
    /// <summary>Wilson score interval (95 %) of a proportion k/n.</summary>
    public static (double Low, double High) Wilson(long k, long n)
    {
        if (n == 0)
        {
            return (0, 1);
        }

        const double z = 1.959963984540054;
        var p = k / (double)n;
        var denominator = 1 + (z * z / n);
        var centre = (p + (z * z / (2 * n))) / denominator;
        var half = z * Math.Sqrt((p * (1 - p) / n) + (z * z / (4.0 * n * n))) / denominator;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>Clopper–Pearson exact interval (95 %) of a proportion k/n, by bisection on the exact binomial tails.</summary>
    public static (double Low, double High) ClopperPearson(long k, long n)
    {
        var logHalfAlpha = Math.Log(0.025);
        var low = k == 0 ? 0 : Bisect(p => BinomialTail.LogUpper(n, k, p) < logHalfAlpha);
        var high = k == n ? 1 : Bisect(p => BinomialTail.LogLower(n, k, p) > logHalfAlpha);
        return (low, high);
    }

    // Finds the boundary of a predicate that is true below it and false above it.
    private static double Bisect(Func<double, bool> below)
    {
        double lo = 1e-300, hi = 1 - 1e-16;
        for (var i = 0; i < 200; i++)
        {
            var mid = Math.Sqrt(lo * hi) is var g && hi / lo > 4 ? g : (lo + hi) / 2;
            if (below(mid))
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return (lo + hi) / 2;
    }

    /// <summary>The one-sample KS statistic D of sorted values against U(0, 1), and its asymptotic p-value (Stephens' correction, as in Numerical Recipes).</summary>
    public static (double D, double PValue) KolmogorovSmirnovUniform(double[] sorted)
    {
        var n = sorted.Length;
        var d = 0.0;
        for (var i = 0; i < n; i++)
        {
            d = Math.Max(d, Math.Max(Math.Abs(sorted[i] - (i / (double)n)), Math.Abs(((i + 1) / (double)n) - sorted[i])));
        }

        var sqrtN = Math.Sqrt(n);
        var lambda = (sqrtN + 0.12 + (0.11 / sqrtN)) * d;
        double sum = 0;
        for (var j = 1; j <= 100; j++)
        {
            var term = Math.Exp(-2 * j * j * lambda * lambda);
            sum += (j % 2 == 1 ? 2 : -2) * term;
            if (term < 1e-12)
            {
                break;
            }
        }

        return (d, Math.Clamp(sum, 0, 1));
    }
}
