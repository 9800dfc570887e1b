using System.Globalization;

namespace DistillGuard.Gateway.Dashboard;

/// <summary>How the dashboard writes numbers, times and bands (invariant culture, UTC).</summary>
internal static class Display
{
    public static string Score(double? score) => score is { } s ? s.ToString("0.000", CultureInfo.InvariantCulture) : "—";

    public static string Number(double value) => value.ToString("#,0.###", CultureInfo.InvariantCulture);

    public static string Count(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Percentile(double? percentile) => percentile is { } p ? p.ToString("0.0", CultureInfo.InvariantCulture) : "—";

    public static string Time(DateTimeOffset? at) => at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC" : "—";

    /// <summary>A p-value, in scientific notation once small (the detector reports far below 1e-300 in log10).</summary>
    public static string PValue(double pValue, double log10PValue) =>
        pValue >= 1e-4 ? pValue.ToString("0.0000", CultureInfo.InvariantCulture)
        : pValue > 0 ? pValue.ToString("0.00e+0", CultureInfo.InvariantCulture)
        : "1e" + Math.Floor(log10PValue).ToString(CultureInfo.InvariantCulture);

    /// <summary>CSS class of a band or level name, so colour follows severity (and the text always says it too).</summary>
    public static string Severity(string? level) => level switch
    {
        "friction" or "suspended" or "block" or "high" => "sev sev-high",
        "review" or "elevated" or "open" or "appealed" => "sev sev-mid",
        "low" or "none" or "cleared" or "allowlisted" or "verified" => "sev sev-low",
        _ => "sev",
    };

    /// <summary>A dashboard link with its query string, leaving out empty values.</summary>
    public static string Link(string path, params (string Name, string? Value)[] query)
    {
        var parts = query.Where(q => !string.IsNullOrEmpty(q.Value)).Select(q => q.Name + "=" + Uri.EscapeDataString(q.Value!)).ToList();
        return parts.Count == 0 ? path : path + "?" + string.Join("&", parts);
    }

    public static string AccountLink(string id) => "/ui/accounts/" + Uri.EscapeDataString(id);
}
