namespace DistillGuard.Detection.Scoring;

/// <summary>Evidence thresholds of one cohort, fitted on held-out benign account-weeks to FPR budgets.</summary>
/// <param name="Review">Score at which an account enters the review band (budget: <see cref="ReviewBudget"/> per account-week).</param>
/// <param name="Friction">Score at which automated friction (verification, lower limits) applies (budget: <see cref="FrictionBudget"/>).</param>
/// <param name="Units">Benign account-weeks the fit saw.</param>
/// <param name="Exceedances">Tail points the exponential tail was fitted on.</param>
public sealed record RiskThresholds(double Review, double Friction, int Units, int Exceedances)
{
    /// <summary>Review-band false-positive budget per account-week (research notes §5.5, goal G1).</summary>
    public const double ReviewBudget = 1e-3;

    /// <summary>Friction-band false-positive budget per account-week (goal G2).</summary>
    public const double FrictionBudget = 1e-4;

    /// <summary>Fits both thresholds to the per-account-week maximum scores of benign accounts.</summary>
    /// <remarks>
    /// Where the sample reaches the budget (n·α ≥ 1) the threshold is the empirical (1 − α) quantile; otherwise it is
    /// extrapolated with an exponential tail fitted to the top exceedances (peaks over threshold, GPD shape 0), and
    /// never put below the largest benign score seen, nor below what one detector at p = α would contribute. A small margin keeps ties at the threshold unflagged.
    /// </remarks>
    public static RiskThresholds Fit(IReadOnlyCollection<double> benignWeekMaxima)
    {
        var sorted = benignWeekMaxima.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
        {
            return new RiskThresholds(double.PositiveInfinity, double.PositiveInfinity, 0, 0);
        }

        // Never flag on less evidence than one detector alone at the budget would give (ln(τ/α) with τ = 0.1).
        var review = Math.Max(ThresholdAt(sorted, ReviewBudget), Math.Log(0.1 / ReviewBudget));
        var friction = Math.Max(review, Math.Max(ThresholdAt(sorted, FrictionBudget), Math.Log(0.1 / FrictionBudget)));
        return new RiskThresholds(review, friction, sorted.Length, TailPoints(sorted.Length));
    }

    /// <summary>The score above which a share <paramref name="alpha"/> of benign units lies, from ascending <paramref name="sorted"/> maxima.</summary>
    public static double ThresholdAt(double[] sorted, double alpha)
    {
        var n = sorted.Length;
        if (n == 0)
        {
            return double.PositiveInfinity;
        }

        if (n * alpha >= 1)
        {
            return sorted[(int)Math.Ceiling((1 - alpha) * n) - 1] + 1e-9;
        }

        var k = TailPoints(n);
        if (k == 0)
        {
            return sorted[^1] + 1e-9;
        }

        var u = sorted[n - k - 1];
        var beta = Math.Max(sorted[(n - k)..].Average(v => v - u), 0.5);
        var extrapolated = u + (beta * Math.Log(k / (n * alpha)));
        return Math.Max(extrapolated, sorted[^1]) + 1e-9;
    }

    private static int TailPoints(int n) => Math.Clamp(n / 20, Math.Min(10, n - 1), 500);
}
