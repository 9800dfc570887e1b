namespace DistillGuard.Lab.Evaluation;

/// <summary>A proportion with its 95 % Wilson score interval (Wilson 1927), which stays inside [0, 1] and is honest at 0 and n.</summary>
public sealed record BinomialInterval(int Successes, int Trials, double Rate, double Lower, double Upper)
{
    /// <summary>The proportion <paramref name="successes"/>/<paramref name="trials"/> with its 95 % interval.</summary>
    public static BinomialInterval Of(int successes, int trials)
    {
        if (trials == 0)
        {
            return new BinomialInterval(0, 0, double.NaN, 0, 1);
        }

        const double z = 1.959964;
        var p = (double)successes / trials;
        var denominator = 1 + (z * z / trials);
        var centre = (p + (z * z / (2 * trials))) / denominator;
        var half = z * Math.Sqrt((p * (1 - p) / trials) + (z * z / (4.0 * trials * trials))) / denominator;
        return new BinomialInterval(successes, trials, p, Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
