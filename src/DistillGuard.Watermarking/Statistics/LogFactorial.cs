namespace DistillGuard.Watermarking.Statistics;

/// <summary>ln(n!) for non-negative integers, accurate to about 1e-15 relative.</summary>
internal static class LogFactorial
{
    private const int TableSize = 256;
    private static readonly double[] Table = Build();

    /// <summary>ln(<paramref name="n"/>!).</summary>
    public static double Of(long n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (n < TableSize)
        {
            return Table[n];
        }

        // Stirling's series; at n ≥ 256 the first omitted term (1/(1188 n⁹)) is below 1e-24.
        double x = n;
        var inverse = 1.0 / x;
        var inverse2 = inverse * inverse;
        var series = inverse * ((1.0 / 12) - (inverse2 * ((1.0 / 360) - (inverse2 * ((1.0 / 1260) - (inverse2 / 1680))))));
        return (x * Math.Log(x)) - x + (0.5 * Math.Log(2 * Math.PI * x)) + series;
    }

    private static double[] Build()
    {
        var table = new double[TableSize];
        for (var i = 2; i < TableSize; i++)
        {
            table[i] = table[i - 1] + Math.Log(i);
        }

        return table;
    }
}
