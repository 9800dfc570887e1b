using DistillGuard.Watermarking.Statistics;

namespace DistillGuard.Lab.Watermarks;

/// <summary>The exact binomial interval of the watermark evaluation (the Wilson interval is <see cref="Evaluation.BinomialInterval"/>).</summary>
public static class EvaluationStatistics
{
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
}
