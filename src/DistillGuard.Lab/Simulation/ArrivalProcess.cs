namespace DistillGuard.Lab.Simulation;

/// <summary>Arrival times in virtual time: diurnal/weekly human rhythms, flat machine traffic and scheduled batches.</summary>
internal static class ArrivalProcess
{
    // Relative activity per local hour for people at work or study: quiet nights, a late-morning and mid-afternoon
    // peak, a dip at lunch and an evening tail (the familiar two-hump shape of web and API traffic by hour).
    private static readonly double[] s_working =
    [
        0.05, 0.03, 0.02, 0.02, 0.02, 0.04, 0.10, 0.25, 0.55, 0.85, 1.00, 0.95,
        0.70, 0.85, 0.95, 0.90, 0.80, 0.60, 0.40, 0.35, 0.30, 0.25, 0.15, 0.08,
    ];

    // Casual users: later start, evening peak.
    private static readonly double[] s_leisure =
    [
        0.25, 0.15, 0.08, 0.05, 0.04, 0.04, 0.08, 0.15, 0.30, 0.45, 0.55, 0.60,
        0.65, 0.60, 0.55, 0.55, 0.60, 0.70, 0.85, 0.95, 1.00, 0.90, 0.70, 0.45,
    ];

    /// <summary>Hourly activity shapes.</summary>
    public enum Rhythm
    {
        Working,
        Leisure,
    }

    /// <summary>Non-homogeneous Poisson arrivals (by thinning) with a diurnal shape in the account's local time.</summary>
    /// <param name="perDay">Mean arrivals per weekday.</param>
    /// <param name="weekendFactor">Weekend rate relative to a weekday.</param>
    public static IEnumerable<DateTimeOffset> Diurnal(SimulationRandom rng, DateTimeOffset start, DateTimeOffset end, double perDay,
        TimeSpan utcOffset, Rhythm rhythm = Rhythm.Working, double weekendFactor = 0.4)
    {
        var shape = rhythm == Rhythm.Working ? s_working : s_leisure;
        var mean = shape.Average();
        var peak = shape.Max() / mean * Math.Max(1.0, weekendFactor);
        var maxPerHour = perDay / 24.0 * peak;
        if (maxPerHour <= 0)
        {
            yield break;
        }

        var t = start;
        while (true)
        {
            t += TimeSpan.FromHours(rng.Exponential(1.0 / maxPerHour));
            if (t >= end)
            {
                yield break;
            }

            var local = t.ToOffset(utcOffset);
            var weight = shape[local.Hour] / mean * (local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? weekendFactor : 1.0);
            if (rng.NextDouble() * peak < weight)
            {
                yield return t;
            }
        }
    }

    /// <summary>Homogeneous Poisson arrivals: machine traffic around the clock.</summary>
    public static IEnumerable<DateTimeOffset> Flat(SimulationRandom rng, DateTimeOffset start, DateTimeOffset end, double perHour)
    {
        if (perHour <= 0)
        {
            yield break;
        }

        var t = start;
        while (true)
        {
            t += TimeSpan.FromHours(rng.Exponential(1.0 / perHour));
            if (t >= end)
            {
                yield break;
            }

            yield return t;
        }
    }

    /// <summary>Near-regular arrivals (a worker loop or scheduler): fixed interval with small relative jitter.</summary>
    public static IEnumerable<DateTimeOffset> Regular(SimulationRandom rng, DateTimeOffset start, DateTimeOffset end, TimeSpan interval, double jitter)
    {
        var t = start + interval * rng.NextDouble();
        while (t < end)
        {
            yield return t;
            t += interval * Math.Max(0.05, 1.0 + jitter * rng.Normal());
        }
    }

    /// <summary>Nightly (or other daily) batch windows: inside each window requests arrive regularly.</summary>
    public static IEnumerable<DateTimeOffset> DailyBatches(SimulationRandom rng, DateTimeOffset start, DateTimeOffset end, int startHourUtc,
        TimeSpan window, TimeSpan interval, double jitter, bool weekdaysOnly)
    {
        for (var day = start.UtcDateTime.Date; day < end.UtcDateTime; day = day.AddDays(1))
        {
            if (weekdaysOnly && day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                continue;
            }

            var windowStart = new DateTimeOffset(day, TimeSpan.Zero).AddHours(startHourUtc).AddMinutes(rng.Uniform(0, 10));
            var windowEnd = windowStart + window;
            foreach (var t in Regular(rng, windowStart, windowEnd < end ? windowEnd : end, interval, jitter))
            {
                if (t >= start)
                {
                    yield return t;
                }
            }
        }
    }

    /// <summary>Human think time between turns of one conversation (median ~40 s, heavy right tail).</summary>
    public static TimeSpan ThinkTime(SimulationRandom rng, double medianSeconds = 40) =>
        TimeSpan.FromSeconds(Math.Clamp(rng.LogNormal(medianSeconds, 0.8), 3, 1800));
}
