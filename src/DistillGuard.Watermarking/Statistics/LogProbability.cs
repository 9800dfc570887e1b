namespace DistillGuard.Watermarking.Statistics;

/// <summary>Arithmetic on natural-log probabilities, so p-values far below 1e-300 keep their exponent.</summary>
public static class LogProbability
{
    private const double MinusLn2 = -0.6931471805599453;

    /// <summary>ln(e^a + e^b) without overflow.</summary>
    public static double Add(double a, double b)
    {
        if (double.IsNegativeInfinity(a))
        {
            return b;
        }

        if (double.IsNegativeInfinity(b))
        {
            return a;
        }

        var max = Math.Max(a, b);
        return max + Log1P(Math.Exp(Math.Min(a, b) - max));
    }

    /// <summary>ln(1 − e^a) for a ≤ 0, accurate at both ends (Mächler 2012, "Accurately computing log(1 − exp(−|a|))").</summary>
    public static double Complement(double a)
    {
        if (a >= 0)
        {
            return double.NegativeInfinity;
        }

        return a > MinusLn2 ? Math.Log(-ExpM1(a)) : Log1P(-Math.Exp(a));
    }

    /// <summary>ln(1 + x), accurate for small x (Goldberg's correction, "What every computer scientist should know", 1991).</summary>
    public static double Log1P(double x)
    {
        var u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>e^x − 1, accurate for small x (Kahan's correction).</summary>
    public static double ExpM1(double x)
    {
        var u = Math.Exp(x);
        if (u == 1)
        {
            return x;
        }

        var um1 = u - 1;
        return um1 == -1 ? -1 : um1 * x / Math.Log(u);
    }

    /// <summary>The Šidák correction for <paramref name="tests"/> tries: ln(1 − (1 − p)^k) from ln p.</summary>
    /// <remarks>For the minimum p over k tries this is exact when the tries are independent and never below the truth otherwise beyond the Bonferroni bound k·p.</remarks>
    public static double Sidak(double logP, int tests)
    {
        if (tests <= 1 || double.IsNegativeInfinity(logP))
        {
            return logP;
        }

        if (logP < -30)
        {
            // (1 − p)^k = 1 − k p + O(k² p²): the first-order term is exact to double precision here.
            return Math.Min(0, logP + Math.Log(tests));
        }

        return Complement(tests * Log1P(-Math.Exp(logP)));
    }

    /// <summary>The Bonferroni correction: ln(min(1, k·p)).</summary>
    public static double Bonferroni(double logP, long tests) => tests <= 1 ? logP : Math.Min(0, logP + Math.Log(tests));

    /// <summary>log10 of a natural-log probability.</summary>
    public static double ToLog10(double logP) => logP / Math.Log(10);
}
