namespace DistillGuard.Lab.Evaluation;

/// <summary>The one-sample Kolmogorov–Smirnov test against U(0, 1), the check every evaluation runs on its null p-values.</summary>
public static class KolmogorovSmirnov
{
    /// <summary>
    /// The distance D of <paramref name="values"/> (in any order) from U(0, 1) and its asymptotic p-value with Stephens'
    /// small-n correction, as in Numerical Recipes. No values give (0, 1).
    /// </summary>
    public static (double D, double PValue) AgainstUniform(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return (0, 1);
        }

        var sorted = values.Order().ToArray();
        var n = sorted.Length;
        double d = 0;
        for (var i = 0; i < n; i++)
        {
            d = Math.Max(d, Math.Max(((i + 1.0) / n) - sorted[i], sorted[i] - (i / (double)n)));
        }

        var sqrtN = Math.Sqrt(n);
        var lambda = (sqrtN + 0.12 + (0.11 / sqrtN)) * d;
        if (lambda < 0.3)
        {
            // The alternating series converges badly here, and the tail is within 1e-4 of 1.
            return (d, 1);
        }

        double p = 0;
        for (var k = 1; k <= 100; k++)
        {
            var term = 2 * (k % 2 == 1 ? 1 : -1) * Math.Exp(-2 * k * k * lambda * lambda);
            p += term;
            if (Math.Abs(term) < 1e-12)
            {
                break;
            }
        }

        return (d, Math.Clamp(p, 0, 1));
    }
}
